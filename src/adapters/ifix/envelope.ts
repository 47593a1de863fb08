import type { Env } from "../../env";
import { getIfixConfig, getSigningKey } from "./config";
import { signEnvelope } from "./signing";
import type { IfixType } from "./codec";

export interface IfixHeader {
  message_id: string;
  message_ts: number;
  action: "create" | "update" | "search";
  sender_id: string;
  sender_uri: string;
  receiver_id: string;
}

/** The header fields fixed when a message is made; `message_ts` is added at each send. */
export type HeaderBase = Omit<IfixHeader, "message_ts">;

export interface SignedEnvelope {
  messageId: string;
  header: IfixHeader;
  /** The JSON text posted for this attempt. */
  body: string;
}

/** The header of a new message: `sender_uri` is the full callback URL of its type (CONTRACT v3 §7). */
export function headerBase(env: Env, type: IfixType, action: "create" | "update", messageId: string = crypto.randomUUID()): HeaderBase {
  const c = getIfixConfig(env);
  return {
    message_id: messageId,
    action,
    sender_id: c.IFIX_SENDER_ID,
    sender_uri: `${c.IFIX_CALLBACK_URL}/on-${type}`,
    receiver_id: c.IFIX_RECEIVER_ID,
  };
}

/**
 * Signs one send of a message: the same message_id and content every time, a fresh `message_ts`
 * and signature, so a receiver's freshness window holds however late a retry goes out.
 */
export async function signForSend(env: Env, base: HeaderBase, message: Record<string, unknown>, now = Date.now()): Promise<SignedEnvelope> {
  const c = getIfixConfig(env);
  const key = await getSigningKey(env);
  const header: IfixHeader = { ...base, message_ts: Math.floor(now / 1000) };
  const signature = await signEnvelope(key, header, message, c.IFIX_SIGNATURE_SCOPE);
  return { messageId: header.message_id, header, body: JSON.stringify({ signature, header, message }) };
}

/** Builds the header, signs header+message (or message alone) once. */
export async function buildSignedEnvelope(
  env: Env,
  type: IfixType,
  action: "create" | "update",
  message: Record<string, unknown>,
  opts: { messageId?: string; now?: number } = {},
): Promise<SignedEnvelope> {
  return signForSend(env, headerBase(env, type, action, opts.messageId), message, opts.now);
}

export const ifixUrl = (env: Env, type: IfixType) => `${getIfixConfig(env).IFIX_BASE_URL}/ifix/v1/${type}`;
