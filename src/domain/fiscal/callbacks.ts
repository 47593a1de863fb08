import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { IFIX_STATUSES } from "../../storage/schema/fiscal-messages";
import { GatewayError } from "../../errors";
import { canonicalize } from "../../adapters/ifix/jcs";
import { verifyEnvelope } from "../../adapters/ifix/signing";
import { getTrustedKeys, signatureScope } from "../../adapters/ifix/config";
import type { SignatureScope } from "../../adapters/ifix/signing";
import type { IfixStatus, IfixType } from "../../adapters/ifix/codec";
import { sha256Hex } from "../security/crypto";
import { readVar } from "../../env";
import { applyPiCallback } from "../funds/payment-instructions";
import { allowedFrom } from "./statuses";

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
  const raw = isObj(s) ? (s.status_code ?? s.statusCode) : s;
  const text =
    isObj(s) && typeof (s.status_message ?? s.statusMessage) === "string" ? String(s.status_message ?? s.statusMessage).slice(0, 500) : null;
  const code = typeof raw === "string" && (IFIX_STATUSES as readonly string[]).includes(raw.toUpperCase()) ? (raw.toUpperCase() as IfixStatus) : null;
  return { code, text };
}

export interface CallbackAnswer {
  acknowledged: true;
  messageId: string;
  matchedMessageId: string | null;
  status: IfixStatus | null;
}

type Candidate = { id: string; piId: string | null; parentId: string | null; ownerId: string };
type MatchedBy = "message_id" | "transaction_id" | "linked_id" | "ambiguous";

/**
 * Only messages the gateway sent to this sender: their receiver_id is the callback's sender_id.
 * Rows sent before receiver_id was recorded answer to the receiver configured now. A condition on
 * fiscal_messages taking the sender id as its one parameter.
 */
const sentTo = (env: Env, senderId: string) =>
  readVar(env, "IFIX_RECEIVER_ID") === senderId ? "(receiver_id = ? OR receiver_id IS NULL)" : "receiver_id = ?";

/** A message a callback may answer, as `Candidate`. */
const CANDIDATE = "SELECT id, pi_id AS piId, parent_id AS parentId, owner_id AS ownerId FROM fiscal_messages";
/** A callback's stored answer by its dedupe key. */
const ANSWER_BY_KEY = "SELECT answer FROM fiscal_callbacks WHERE dedupe_key = ? LIMIT 1";
const answerOf = (row: Record<string, unknown> | undefined | null): CallbackAnswer | null =>
  typeof row?.answer === "string" ? (JSON.parse(row.answer) as CallbackAnswer) : null;

/**
 * A callback's first two reads, in one D1 round trip: its stored answer if it was seen before (by its
 * dedupe key, or, in header+message scope, by sender + message_id + content for rows stored before
 * dedupe_key existed), and the message it answers when its message_id is one the gateway sent this
 * sender (the usual match; the other rules are in `findTarget`). Plain SQL, written once: on the
 * busiest callback path drizzle built each statement again per call (its query building was a few
 * per cent of the funds load's CPU), and the two reads were two round trips.
 */
async function firstReads(
  env: Env,
  db: Db,
  q: { type: IfixType; senderId: string; messageId: string; contentHash: string; dedupeKey: string; scope: SignatureScope },
): Promise<{ seen: CallbackAnswer | null; byId: Candidate | null }> {
  const d1 = db.$client;
  const seen =
    q.scope === "message"
      ? d1.prepare(ANSWER_BY_KEY).bind(q.dedupeKey)
      : d1
          .prepare("SELECT answer FROM fiscal_callbacks WHERE dedupe_key = ? OR (sender_id = ? AND message_id = ? AND content_hash = ?) LIMIT 1")
          .bind(q.dedupeKey, q.senderId, q.messageId, q.contentHash);
  const byId = d1.prepare(`${CANDIDATE} WHERE id = ? AND type = ? AND ${sentTo(env, q.senderId)}`).bind(q.messageId, q.type, q.senderId);
  const [a, b] = await d1.batch<Record<string, unknown>>([seen, byId]);
  return { seen: answerOf(a.results[0]), byId: (b.results[0] as Candidate | undefined) ?? null };
}

/**
 * The message a callback answers (CONTRACT v3 §7), among those sent to its sender, of its type: by
 * message_id when it is one the gateway sent (`byId`, read by firstReads), else by transaction_id,
 * else linked_id. Those two are chosen by clients, so they match only within one thread of messages
 * (a message and its updates: the newest wins); candidates from two threads (two clients'
 * numbering, or a raw message reusing a PI's id) are ambiguous and match nothing rather than the
 * wrong one.
 */
async function findTarget(env: Env, db: Db, type: IfixType, senderId: string, byId: Candidate | null, message: Record<string, unknown>) {
  if (byId) return { target: byId, matchedBy: "message_id" as MatchedBy };
  for (const field of ["transaction_id", "linked_id"] as const) {
    const value = message[field];
    if (typeof value !== "string" || !value) continue;
    const rows = (
      await db.$client
        .prepare(`${CANDIDATE} WHERE ${field} = ? AND type = ? AND ${sentTo(env, senderId)} ORDER BY created_at DESC, id DESC LIMIT 20`)
        .bind(value, type, senderId)
        .all<Candidate>()
    ).results;
    if (!rows.length) continue;
    const threads = new Set(rows.map((r) => r.parentId ?? r.id));
    if (threads.size > 1) return { target: null, matchedBy: "ambiguous" as MatchedBy };
    return { target: rows[0], matchedBy: field as MatchedBy };
  }
  return { target: null, matchedBy: null };
}

/**
 * An iFIX `on-<type>` callback, checked in the contract's order: signature (any trusted key of the
 * sender) → de-duplication → freshness (±5 min). De-duplication is on sender + message_id + content;
 * with IFIX_SIGNATURE_SCOPE=message the header is not signed, so a captured callback replayed with a
 * new message_id or message_ts would pass: there it is on sender + content alone (issue 10, item 8).
 * Then its status updates the message it answers, never backwards, and, for a PI's disburse, the PI
 * in its account's object.
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
  const scope = signatureScope(env);
  if (!(await verifyEnvelope(keys, body.signature, header, message, scope))) throw bad("signature mismatch");

  const messageId = header.message_id;
  if (typeof messageId !== "string" || messageId.length === 0 || messageId.length > 128) {
    throw new GatewayError("VALIDATION_FAILED", "header.message_id is required", {
      details: [{ path: "header.message_id", message: "a string of 1 to 128 characters" }],
    });
  }
  const contentHash = await sha256Hex(canonicalize(message));
  const dedupeKey = await sha256Hex(scope === "message" ? `m\n${senderId}\n${contentHash}` : `h\n${senderId}\n${messageId}\n${contentHash}`);
  const { seen, byId } = await firstReads(env, db, { type, senderId, messageId, contentHash, dedupeKey, scope });
  if (seen) return seen;

  const ts = parseMessageTs(header.message_ts);
  if (ts === null)
    throw new GatewayError("STALE_MESSAGE", "header.message_ts is missing or not a time", {
      details: [{ path: "header.message_ts", message: "unix seconds or milliseconds" }],
    });
  if (Math.abs(now - ts) > FRESHNESS_MS) throw new GatewayError("STALE_MESSAGE", "message_ts is more than 5 minutes from now");

  const { target, matchedBy } = await findTarget(env, db, type, senderId, byId, message);
  const status = statusOf(message);
  const answer: CallbackAnswer = { acknowledged: true, messageId, matchedMessageId: target?.id ?? null, status: status.code };

  // A PI moves inside its account's object, idempotent on this callback's id; a failure here is a
  // 500 with nothing recorded, so iFIX's retry is not mistaken for a duplicate.
  if (target?.piId && type === "disburse") {
    await applyPiCallback(env, db, target.piId, status.code ?? "", status.text, `cb:${dedupeKey}`, senderId);
  }

  // Plain SQL written once, as in firstReads: the message's status and the callback's row, one batch.
  const d1 = db.$client;
  const iso = new Date(now).toISOString();
  const statements: D1PreparedStatement[] = [];
  if (target && status.code) {
    // Never backwards: only from a status that may move to this one (statuses.ts); once per callback.
    const from = allowedFrom(status.code, type);
    statements.push(
      d1
        .prepare(
          `UPDATE fiscal_messages SET status = ?, status_message = ?, updated_at = ? WHERE id = ? AND status IN (${from.map(() => "?").join(", ") || "NULL"}) AND NOT EXISTS (SELECT 1 FROM fiscal_callbacks WHERE dedupe_key = ?)`,
        )
        .bind(status.code, status.text, iso, target.id, ...from, dedupeKey),
    );
  }
  statements.push(
    d1
      .prepare(
        `INSERT INTO fiscal_callbacks (sender_id, message_id, content_hash, dedupe_key, type, action, message_ts, target_message_id, matched_by, status_code, status_message, answer, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
      )
      .bind(
        senderId,
        messageId,
        contentHash,
        dedupeKey,
        type,
        typeof header.action === "string" ? header.action.slice(0, 16) : null,
        Math.floor(ts / 1000),
        target?.id ?? null,
        matchedBy,
        status.code,
        status.text,
        JSON.stringify(answer),
        iso,
      ),
  );
  const results = await d1.batch(statements);
  if (results[results.length - 1].results.length) return answer;
  // A concurrent duplicate's insert won: its answer is the answer.
  return answerOf(await d1.prepare(ANSWER_BY_KEY).bind(dedupeKey).first()) ?? answer;
}
