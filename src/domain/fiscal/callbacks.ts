import { and, desc, eq, sql } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { fiscalMessages, IFIX_STATUSES } from "../../storage/schema/fiscal-messages";
import { fiscalCallbacks } from "../../storage/schema/fiscal-callbacks";
import { GatewayError } from "../../errors";
import { canonicalize } from "../../adapters/ifix/jcs";
import { verifyEnvelope } from "../../adapters/ifix/signing";
import { getTrustedKeys, signatureScope } from "../../adapters/ifix/config";
import type { IfixStatus, IfixType } from "../../adapters/ifix/codec";
import { sha256Hex } from "../security/crypto";
import { applyPiCallback } from "../funds/payment-instructions";

/** Callbacks whose message_ts is further than this from now are refused (401 STALE_MESSAGE). */
export const FRESHNESS_MS = 5 * 60_000;

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** message_ts in seconds or milliseconds, as a number or a numeric string → epoch ms (null if unreadable). */
export function parseMessageTs(v: unknown): number | null {
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && /^\s*\d+(\.\d+)?\s*$/.test(v)) n = Number(v);
  else return null;
  if (!Number.isFinite(n) || n <= 0) return null;
  // 10^11 seconds is the year 5138; anything larger is milliseconds.
  return n >= 1e11 ? Math.floor(n) : Math.floor(n * 1000);
}

function statusOf(message: Record<string, unknown>): { code: IfixStatus | null; text: string | null } {
  const s = message.status;
  const raw = isObj(s) ? s.status_code ?? s.statusCode : s;
  const text = isObj(s) && typeof (s.status_message ?? s.statusMessage) === "string" ? String(s.status_message ?? s.statusMessage).slice(0, 500) : null;
  const code = typeof raw === "string" && (IFIX_STATUSES as readonly string[]).includes(raw.toUpperCase()) ? (raw.toUpperCase() as IfixStatus) : null;
  return { code, text };
}

export interface CallbackAnswer {
  acknowledged: true;
  messageId: string;
  matchedMessageId: string | null;
  status: IfixStatus | null;
}

/**
 * An iFIX `on-<type>` callback, checked in the contract's order: signature (any trusted key of the
 * sender) → de-duplication (sender + message_id + content hash: the first answer again, no second
 * effect) → freshness (±5 min). Then its status updates the message it answers (by transaction_id,
 * else linked_id, else message_id) and, for a PI's disburse, the PI.
 */
export async function receiveCallback(env: Env, db: Db, type: IfixType, body: unknown, now = Date.now()): Promise<CallbackAnswer> {
  const bad = (why: string) => new GatewayError("BAD_SIGNATURE", "the signature does not verify", { details: [{ message: why }] });
  if (!isObj(body) || !isObj(body.header) || !isObj(body.message)) throw bad("signature, header and message are required");
  const { header, message } = body;
  if (typeof body.signature !== "string" || body.signature.length === 0) throw bad("signature missing");
  const senderId = header.sender_id;
  if (typeof senderId !== "string") throw bad("header.sender_id missing");
  const keys = (await getTrustedKeys(env)).get(senderId);
  if (!keys?.length) throw bad("unknown sender");
  if (!(await verifyEnvelope(keys, body.signature, header, message, signatureScope(env)))) throw bad("signature mismatch");

  const messageId = header.message_id;
  if (typeof messageId !== "string" || messageId.length === 0 || messageId.length > 128) {
    throw new GatewayError("VALIDATION_FAILED", "header.message_id is required", { details: [{ path: "header.message_id", message: "a string of 1 to 128 characters" }] });
  }
  const contentHash = await sha256Hex(canonicalize(message));
  const dedupe = and(eq(fiscalCallbacks.senderId, senderId), eq(fiscalCallbacks.messageId, messageId), eq(fiscalCallbacks.contentHash, contentHash));
  const seen = await db.select({ answer: fiscalCallbacks.answer }).from(fiscalCallbacks).where(dedupe).get();
  if (seen) return seen.answer as CallbackAnswer;

  const ts = parseMessageTs(header.message_ts);
  if (ts === null) throw new GatewayError("STALE_MESSAGE", "header.message_ts is missing or not a time", { details: [{ path: "header.message_ts", message: "unix seconds or milliseconds" }] });
  if (Math.abs(now - ts) > FRESHNESS_MS) throw new GatewayError("STALE_MESSAGE", "message_ts is more than 5 minutes from now");

  // The message it answers.
  let target: { id: string; piId: string | null } | undefined;
  let matchedBy: "transaction_id" | "linked_id" | "message_id" | null = null;
  const pick = (col: typeof fiscalMessages.transactionId | typeof fiscalMessages.linkedId, value: string) =>
    db
      .select({ id: fiscalMessages.id, piId: fiscalMessages.piId })
      .from(fiscalMessages)
      .where(and(eq(col, value), eq(fiscalMessages.type, type)))
      .orderBy(desc(fiscalMessages.createdAt))
      .get();
  if (typeof message.transaction_id === "string" && (target = await pick(fiscalMessages.transactionId, message.transaction_id))) matchedBy = "transaction_id";
  else if (typeof message.linked_id === "string" && (target = await pick(fiscalMessages.linkedId, message.linked_id))) matchedBy = "linked_id";
  else if ((target = await db.select({ id: fiscalMessages.id, piId: fiscalMessages.piId }).from(fiscalMessages).where(eq(fiscalMessages.id, messageId)).get())) matchedBy = "message_id";

  const status = statusOf(message);
  const answer: CallbackAnswer = { acknowledged: true, messageId, matchedMessageId: target?.id ?? null, status: status.code };
  const eventId = `cb:${await sha256Hex(`${senderId}\n${messageId}\n${contentHash}`)}`;

  // A PI's status moves inside its account's Durable Object, idempotent on this callback's id.
  const piWrites = target?.piId && status.code && type === "disburse" ? await applyPiCallback(env, db, target.piId, status.code, status.text, eventId) : [];

  const notSeen = sql`NOT EXISTS (SELECT 1 FROM ${fiscalCallbacks} WHERE ${fiscalCallbacks.senderId} = ${senderId} AND ${fiscalCallbacks.messageId} = ${messageId} AND ${fiscalCallbacks.contentHash} = ${contentHash})`;
  const iso = new Date(now).toISOString();
  const statements = [
    ...(target && status.code
      ? [db.update(fiscalMessages).set({ status: status.code, statusMessage: status.text, updatedAt: iso }).where(and(eq(fiscalMessages.id, target.id), notSeen))]
      : []),
    db
      .insert(fiscalCallbacks)
      .values({
        senderId,
        messageId,
        contentHash,
        type,
        action: typeof header.action === "string" ? header.action.slice(0, 16) : null,
        messageTs: Math.floor(ts / 1000),
        targetMessageId: target?.id ?? null,
        matchedBy,
        statusCode: status.code,
        statusMessage: status.text,
        answer,
        receivedAt: iso,
      })
      .onConflictDoNothing(),
    ...piWrites,
  ];
  await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
  // Concurrent duplicates: whichever insert won, its answer is the answer.
  const first = await db.select({ answer: fiscalCallbacks.answer }).from(fiscalCallbacks).where(dedupe).get();
  return (first?.answer as CallbackAnswer) ?? answer;
}
