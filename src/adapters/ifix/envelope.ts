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

export interface SignedEnvelope {
  messageId: string;
  header: IfixHeader;
  /** The exact JSON text posted (and re-posted) to iFIX. */
  body: string;
}

/** Builds the header, signs header+message (or message alone), and fixes the wire text once. */
export async function buildSignedEnvelope(
  env: Env,
  _type: IfixType, // the URL carries the type; the header has no field for it
  action: "create" | "update",
  message: Record<string, unknown>,
  opts: { messageId?: string; now?: number } = {},
): Promise<SignedEnvelope> {
  const c = getIfixConfig(env);
  const key = await getSigningKey(env);
  const header: IfixHeader = {
    message_id: opts.messageId ?? crypto.randomUUID(),
    message_ts: Math.floor((opts.now ?? Date.now()) / 1000),
    action,
    sender_id: c.IFIX_SENDER_ID,
    sender_uri: c.IFIX_CALLBACK_URL,
    receiver_id: c.IFIX_RECEIVER_ID,
  };
  const signature = await signEnvelope(key, header, message, c.IFIX_SIGNATURE_SCOPE);
  return { messageId: header.message_id, header, body: JSON.stringify({ signature, header, message }) };
}

export const ifixUrl = (env: Env, type: IfixType) => `${getIfixConfig(env).IFIX_BASE_URL}/ifix/v1/${type}`;
