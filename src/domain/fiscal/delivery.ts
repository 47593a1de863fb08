import { and, eq, sql } from "drizzle-orm";
import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import { createDb, type Db } from "../../storage/db";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../storage/schema/fiscal-outbox";
import { isDuplicateAnswer, postIfixMessage, type PostOutcome } from "../../adapters/ifix/client";
import { signForSend } from "../../adapters/ifix/envelope";
import { noRecorder, type UpstreamCallRecorder } from "../../adapters/recorder";
import { deadLetter } from "../../queues/dead-letters.consumer";
import { QUEUES } from "../../queues/names";
import { createLogger, errorKind } from "../../lib/logger";
import { MAX_DELAY_SECONDS } from "../../lib/retry-after";
import { openText } from "./at-rest";
import { DELIVERY_LEASE_MS, enqueueDelivery, openStoredMessage, type PiDeliveryMessage } from "./messages";
import { accountStubByHex } from "../funds/accounts";
import { disburseMessage, type DisburseTemplate } from "../funds/payment-instructions";
import { HELD_BY_ACCOUNT } from "../funds/retention";
import type { DeliveryOutcome, TakenDelivery } from "../../durable-objects/funds-account";

export const MAX_DELAY_MS = MAX_DELAY_SECONDS * 1000;

/**
 * Delay before retry `attempt` (1-based count of attempts made): base × 2^(attempt−1), with jitter
 * over its upper half, never less than Retry-After, capped at 12 h (the queue's delaySeconds limit).
 */
export function retryDelayMs(attempt: number, baseMs: number, retryAfterMs: number | null, random = Math.random): number {
  const exp = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.min(40, Math.max(0, attempt - 1)));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.min(MAX_DELAY_MS, Math.max(Math.round(jittered), retryAfterMs ?? 0));
}

export type DeliveryResult = "skipped" | "delivered" | "rejected" | "retry" | "failed";

/** What one attempt's answer means: iFIX's 409 to a message it may have had already is delivery. */
function classify(outcome: PostOutcome, attempt: number, maxAttempts: number, baseMs: number): DeliveryOutcome {
  if (outcome.kind === "ok") return { kind: "delivered", httpStatus: outcome.httpStatus };
  if (isDuplicateAnswer(outcome, attempt))
    return { kind: "delivered", httpStatus: outcome.httpStatus, note: `iFIX already had this message_id (HTTP 409 to attempt ${attempt})` };
  if (outcome.kind === "rejected") return { kind: "rejected", httpStatus: outcome.httpStatus, error: outcome.error };
  if (attempt >= maxAttempts) return { kind: "failed", httpStatus: outcome.httpStatus, error: outcome.error };
  return { kind: "retry", httpStatus: outcome.httpStatus, error: outcome.error, delayMs: retryDelayMs(attempt, baseMs, outcome.retryAfterMs) };
}

const localFailure = (err: unknown): PostOutcome => ({
  kind: "retry",
  httpStatus: null,
  durationMs: 0,
  error: `local error (${errorKind(err)})`,
  retryAfterMs: null,
  timeout: false,
});

/**
 * One delivery attempt of one fiscal message from D1's outbox (messages other than PIs'). Idempotent
 * under the queue's at-least-once delivery: the attempt is claimed in D1 by bumping the outbox's
 * attempt count from the value the queue message carries, so a duplicate (or a stale re-send) claims
 * nothing and sends nothing. Each attempt signs the stored message afresh (new message_ts).
 */
export async function deliverFiscalMessage(
  env: Env,
  messageId: string,
  attempt: number,
  requestId?: string,
  record: UpstreamCallRecorder = noRecorder,
): Promise<DeliveryResult> {
  const db = createDb(env.DB);
  const { UPSTREAM_TIMEOUT_MS, DELIVERY_MAX_ATTEMPTS, DELIVERY_BACKOFF_BASE_MS } = getUpstreamConfig(env);
  const log = createLogger({ messageId, requestId });
  const claimed = await db
    .update(fiscalOutbox)
    .set({ attempt: sql`${fiscalOutbox.attempt} + 1`, leaseUntil: Date.now() + UPSTREAM_TIMEOUT_MS + DELIVERY_LEASE_MS })
    .where(and(eq(fiscalOutbox.messageId, messageId), eq(fiscalOutbox.attempt, attempt)))
    .returning({ attempt: fiscalOutbox.attempt })
    .all();
  if (!claimed.length) return "skipped";
  const n = claimed[0].attempt;
  const msg = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, messageId)).get();
  if (msg?.deliveryStatus !== "QUEUED") {
    await db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)).run();
    return "skipped";
  }
  let outcome: PostOutcome;
  try {
    const stored = await openStoredMessage(env, msg.wireBody, msg.id);
    const signed = await signForSend(env, stored.header, stored.message);
    outcome = await postIfixMessage(env, msg.type, signed.body, { messageId, attempt: n, requestId }, record);
  } catch (err) {
    // A local failure (e.g. configuration) counts as an attempt, so it ends in FAILED, not a loop.
    outcome = localFailure(err);
  }
  const result = classify(outcome, n, DELIVERY_MAX_ATTEMPTS, DELIVERY_BACKOFF_BASE_MS);
  const now = new Date().toISOString();

  if (result.kind === "delivered") {
    await db.batch([
      db
        .update(fiscalMessages)
        .set({
          deliveryStatus: "DELIVERED",
          // A callback may already have moved the status on; only a still-QUEUED message becomes RECEIVED.
          status: sql`CASE WHEN ${fiscalMessages.status} = 'QUEUED' THEN 'RECEIVED' ELSE ${fiscalMessages.status} END`,
          attempts: n,
          lastHttpStatus: outcome.httpStatus,
          lastError: result.note ?? null,
          deliveredAt: now,
          updatedAt: now,
        })
        .where(eq(fiscalMessages.id, messageId)),
      db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)),
    ]);
    return "delivered";
  }
  if (result.kind === "rejected") {
    // iFIX refused the message itself (4xx): sending it again cannot succeed. Operators see it in the dead letters.
    await deadLetter(
      env,
      QUEUES.fiscalDelivery,
      { type: "fiscal.deliver", messageId, piId: msg.piId ?? undefined },
      `rejected by iFIX: ${result.error}`,
      `fiscal:${messageId}`,
    );
    await db.batch([
      db
        .update(fiscalMessages)
        .set({
          deliveryStatus: "REJECTED",
          status: "REJECTED",
          statusMessage: result.error.slice(0, 500),
          attempts: n,
          lastHttpStatus: outcome.httpStatus,
          lastError: result.error.slice(0, 500),
          updatedAt: now,
        })
        .where(eq(fiscalMessages.id, messageId)),
      db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)),
    ]);
    log.warn("fiscal message rejected", { httpStatus: outcome.httpStatus, attempt: n });
    return "rejected";
  }
  if (result.kind === "failed") {
    // Dead letter first (idempotent on its id), then the ledger: a crash in between is redone by the sweep.
    await deadLetter(
      env,
      QUEUES.fiscalDelivery,
      { type: "fiscal.deliver", messageId, piId: msg.piId ?? undefined },
      `gave up after ${n} attempts: ${result.error}`,
      `fiscal:${messageId}`,
    );
    await db.batch([
      db
        .update(fiscalMessages)
        .set({
          deliveryStatus: "FAILED",
          status: sql`CASE WHEN ${fiscalMessages.status} = 'QUEUED' THEN 'FAILED' ELSE ${fiscalMessages.status} END`,
          attempts: n,
          lastHttpStatus: outcome.httpStatus,
          lastError: result.error,
          updatedAt: now,
        })
        .where(eq(fiscalMessages.id, messageId)),
      db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)),
    ]);
    log.warn("fiscal message failed", { attempts: n });
    return "failed";
  }
  await db.batch([
    db
      .update(fiscalMessages)
      .set({ attempts: n, lastHttpStatus: outcome.httpStatus, lastError: result.error, updatedAt: now })
      .where(eq(fiscalMessages.id, messageId)),
    // Unleased again: enqueueDelivery leases it after the send, or the sweep resends it.
    db
      .update(fiscalOutbox)
      .set({ leaseUntil: null })
      .where(and(eq(fiscalOutbox.messageId, messageId), eq(fiscalOutbox.attempt, n))),
  ]);
  await enqueueDelivery(env, db, messageId, n, result.delayMs, requestId);
  return "retry";
}

/** Test-only crash points of a PI delivery attempt (the work stops there; nothing is reported back). */
export type PiDeliveryCrashPoint = "after-take" | "after-post";

/** The D1 row of a PI's disburse, written before its post: a callback may come before the answer. */
const PI_ROW_INSERT = `INSERT INTO fiscal_messages (id, owner_id, type, action, parent_id, transaction_id, linked_id, pi_id, receiver_id, location_code,
   status, delivery_status, attempts, wire_body, created_at, updated_at)
 VALUES (?, ?, 'disburse', 'create', NULL, ?, ?, ?, ?, ?, 'QUEUED', 'QUEUED', 0, ?, ?, ?) ON CONFLICT DO NOTHING`;
/** Delivery status, and the message status while it is still QUEUED (a callback may have moved it). */
const PI_ROW_OUTCOME = `UPDATE fiscal_messages SET delivery_status = COALESCE(?, delivery_status), status = CASE WHEN status = 'QUEUED' THEN COALESCE(?, status) ELSE status END,
   delivered_at = COALESCE(?, delivered_at), attempts = ?, last_http_status = ?, last_error = ?, updated_at = ?
 WHERE id = ? AND delivery_status IN ('QUEUED', 'FAILED')`;

/**
 * One delivery attempt of each of a queue batch's PI disburses, handed off by their accounts'
 * objects: take each attempt (only with the hand-off's token, once), make sure D1 has each message's
 * row (so iFIX's callbacks can be matched), sign each stored message afresh, post them, and report
 * each outcome to its object, which retries, stops, or dead-letters through this consumer. A crash
 * anywhere leaves the lease to expire and the object hands the disburse out again: iFIX sees the
 * same message_id again and keeps it once (its 409 to the repeat counts as delivered).
 *
 * The batch's D1 rows are written in one D1 batch before the posts and their outcomes in one after
 * (two per PI before: a local D1 call costs 0.5-1 ms of workerd's one thread, and was a third of a
 * PI's D1 calls). One result per message, in order; a message whose step threw is rejected alone.
 */
export async function deliverPiMessages(
  env: Env,
  msgs: Pick<PiDeliveryMessage, "account" | "messageId" | "token">[],
  record: UpstreamCallRecorder = noRecorder,
  crash?: PiDeliveryCrashPoint,
): Promise<PromiseSettledResult<DeliveryResult>[]> {
  const { UPSTREAM_TIMEOUT_MS, DELIVERY_MAX_ATTEMPTS, DELIVERY_BACKOFF_BASE_MS } = getUpstreamConfig(env);
  const stubs = msgs.map((m) => accountStubByHex(env, m.account));
  const takes = await Promise.allSettled(
    msgs.map(async (m, i) => {
      const stub = stubs[i];
      const taken = stub ? await stub.takeDelivery(m.messageId, m.token, UPSTREAM_TIMEOUT_MS + 60_000) : null;
      if (taken && crash === "after-take") throw new Error("test crash after-take");
      return taken;
    }),
  );
  // The messages to post, each with its row; a payload that does not open fails that one alone.
  const iso = new Date().toISOString();
  const built = takes.map((t) => (t.status === "fulfilled" && t.value ? t.value : null));
  const messages = await Promise.allSettled(
    built.map(async (taken) => {
      if (!taken) return null;
      const template = JSON.parse(await openText(env, taken.payload, taken.messageId)) as DisburseTemplate;
      return disburseMessage(template, { piId: taken.piId, account: taken.account, programCode: taken.programCode });
    }),
  );
  const rows = built.flatMap((taken, i) => {
    const m = messages[i];
    if (!taken || m.status !== "fulfilled" || !m.value) return [];
    return [
      env.DB.prepare(PI_ROW_INSERT).bind(
        taken.messageId,
        taken.ownerId,
        taken.piId,
        String(m.value.linked_id),
        taken.piId,
        taken.header.receiver_id,
        taken.account.tenantId,
        HELD_BY_ACCOUNT,
        taken.createdAt,
        iso,
      ),
    ];
  });
  // Without its row a disburse is not posted (its callbacks would match nothing): a retry, as a throw was.
  const rowsWritten: unknown = rows.length
    ? await env.DB.batch(rows).then(
        () => null,
        (err: unknown) => err ?? new Error("D1 batch failed"),
      )
    : null;
  const posted = await Promise.allSettled(
    built.map(async (taken, i): Promise<{ taken: TakenDelivery; outcome: PostOutcome } | null> => {
      if (!taken) return null;
      const m = messages[i];
      let outcome: PostOutcome;
      try {
        if (m.status === "rejected") throw m.reason;
        if (rowsWritten !== null) throw rowsWritten;
        const signed = await signForSend(env, taken.header, m.value!);
        outcome = await postIfixMessage(env, "disburse", signed.body, { messageId: taken.messageId, attempt: taken.attempt }, record);
      } catch (err) {
        outcome = localFailure(err);
      }
      if (crash === "after-post") throw new Error("test crash after-post");
      return { taken, outcome };
    }),
  );
  const reports = await Promise.allSettled(
    posted.map(async (p, i) => {
      if (p.status === "rejected") throw p.reason;
      if (!p.value) return { result: "skipped" as const, row: null };
      const { taken, outcome } = p.value;
      let result = classify(outcome, taken.attempt, DELIVERY_MAX_ATTEMPTS, DELIVERY_BACKOFF_BASE_MS);
      if (result.kind === "failed" || result.kind === "rejected") {
        await deadLetter(
          env,
          QUEUES.fiscalDelivery,
          { type: "fiscal.deliver", messageId: taken.messageId, piId: taken.piId },
          result.kind === "failed" ? `gave up after ${taken.attempt} attempts: ${result.error}` : `rejected by iFIX: ${result.error}`,
          `fiscal:${taken.messageId}`,
        );
      }
      // Taken, so its account's stub exists.
      const reported = await stubs[i]!.deliveryResult(taken.messageId, msgs[i].token, result);
      // Not applied: a later hand-off owns the entry now, unless iFIX's callback already settled it.
      if (!reported.applied && reported.state !== "delivered") return { result: "skipped" as const, row: null };
      if (!reported.applied) result = { kind: "delivered", httpStatus: outcome.httpStatus, note: "iFIX's callback came first" };
      // The D1 row follows (a view for lists and the console; the object is the truth).
      const now = new Date().toISOString();
      const err = "error" in result ? result.error.slice(0, 500) : (result.note ?? null);
      const [delivery, status] =
        result.kind === "delivered"
          ? ["DELIVERED", "RECEIVED"]
          : result.kind === "rejected"
            ? ["REJECTED", "REJECTED"]
            : result.kind === "failed"
              ? ["FAILED", "FAILED"]
              : [null, null];
      const row = env.DB.prepare(PI_ROW_OUTCOME).bind(
        delivery,
        status,
        result.kind === "delivered" ? now : null,
        taken.attempt,
        outcome.httpStatus,
        err,
        now,
        taken.messageId,
      );
      return { result: result.kind, row };
    }),
  );
  const outcomes = reports.flatMap((r) => (r.status === "fulfilled" && r.value.row ? [r.value.row] : []));
  if (outcomes.length) await env.DB.batch(outcomes).catch(() => undefined);
  return takes.map((t, i): PromiseSettledResult<DeliveryResult> => {
    if (t.status === "rejected") return t;
    const r = reports[i];
    return r.status === "rejected" ? r : { status: "fulfilled", value: r.value.result };
  });
}

/** One PI disburse's delivery attempt (`deliverPiMessages` with one message); throws what its step threw. */
export async function deliverPiMessage(
  env: Env,
  m: Pick<PiDeliveryMessage, "account" | "messageId" | "token">,
  record: UpstreamCallRecorder = noRecorder,
  crash?: PiDeliveryCrashPoint,
): Promise<DeliveryResult> {
  const [r] = await deliverPiMessages(env, [m], record, crash);
  if (r.status === "rejected") throw r.reason;
  return r.value;
}

export type { Db };
