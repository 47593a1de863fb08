import { and, eq, sql } from "drizzle-orm";
import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import { createDb, type Db } from "../../storage/db";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../storage/schema/fiscal-outbox";
import { postIfixMessage, type PostOutcome } from "../../adapters/ifix/client";
import { deadLetter } from "../../queues/dead-letters.consumer";
import { QUEUES } from "../../queues/names";
import { createLogger, errorKind } from "../../lib/logger";
import { MAX_DELAY_SECONDS } from "../../lib/retry-after";
import { openText } from "./at-rest";
import { DELIVERY_LEASE_MS, enqueueDelivery } from "./messages";

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

/**
 * One delivery attempt of one fiscal message. Idempotent under the queue's at-least-once delivery:
 * the attempt is claimed in D1 by bumping the outbox's attempt count from the value the queue
 * message carries, so a duplicate (or a stale re-send) claims nothing and sends nothing.
 */
export async function deliverFiscalMessage(env: Env, messageId: string, attempt: number, requestId?: string): Promise<DeliveryResult> {
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
  if (!msg || msg.deliveryStatus !== "QUEUED") {
    await db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)).run();
    return "skipped";
  }
  let outcome: PostOutcome;
  try {
    // The exact signed bytes, as first built: never re-signed or rebuilt.
    const body = await openText(env, msg.wireBody, msg.id);
    outcome = await postIfixMessage(env, msg.type, body, { messageId, attempt: n, requestId });
  } catch (err) {
    // A local failure (e.g. configuration) counts as an attempt, so it ends in FAILED, not a loop.
    outcome = { kind: "retry", httpStatus: null, durationMs: 0, error: `local error (${errorKind(err)})`, retryAfterMs: null, timeout: false };
  }
  const now = new Date().toISOString();

  if (outcome.kind === "ok") {
    await db.batch([
      db
        .update(fiscalMessages)
        .set({
          deliveryStatus: "DELIVERED",
          // A callback may already have moved the status on; only a still-QUEUED message becomes RECEIVED.
          status: sql`CASE WHEN ${fiscalMessages.status} = 'QUEUED' THEN 'RECEIVED' ELSE ${fiscalMessages.status} END`,
          attempts: n,
          lastHttpStatus: outcome.httpStatus,
          lastError: null,
          deliveredAt: now,
          updatedAt: now,
        })
        .where(eq(fiscalMessages.id, messageId)),
      db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)),
    ]);
    return "delivered";
  }

  if (outcome.kind === "rejected") {
    // iFIX refused the message itself (4xx): resending the same bytes cannot succeed. Operators see it
    // in the dead letters; a PI it carried stays committed until a status is set (CONTRACT §7).
    await deadLetter(env, QUEUES.fiscalDelivery, { type: "fiscal.deliver", messageId, piId: msg.piId ?? undefined }, `rejected by iFIX: ${outcome.error}`, `fiscal:${messageId}`);
    await db.batch([
      db
        .update(fiscalMessages)
        .set({ deliveryStatus: "REJECTED", status: "REJECTED", statusMessage: outcome.error.slice(0, 500), attempts: n, lastHttpStatus: outcome.httpStatus, lastError: outcome.error.slice(0, 500), updatedAt: now })
        .where(eq(fiscalMessages.id, messageId)),
      db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)),
    ]);
    log.warn("fiscal message rejected", { httpStatus: outcome.httpStatus, attempt: n });
    return "rejected";
  }

  if (n >= DELIVERY_MAX_ATTEMPTS) {
    // Dead letter first (idempotent on its id), then the ledger: a crash in between is redone by the sweep.
    await deadLetter(env, QUEUES.fiscalDelivery, { type: "fiscal.deliver", messageId, piId: msg.piId ?? undefined }, `gave up after ${n} attempts: ${outcome.error}`, `fiscal:${messageId}`);
    await db.batch([
      db
        .update(fiscalMessages)
        .set({ deliveryStatus: "FAILED", status: sql`CASE WHEN ${fiscalMessages.status} = 'QUEUED' THEN 'FAILED' ELSE ${fiscalMessages.status} END`, attempts: n, lastHttpStatus: outcome.httpStatus, lastError: outcome.error, updatedAt: now })
        .where(eq(fiscalMessages.id, messageId)),
      db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)),
    ]);
    log.warn("fiscal message failed", { attempts: n });
    return "failed";
  }

  const delay = retryDelayMs(n, DELIVERY_BACKOFF_BASE_MS, outcome.retryAfterMs);
  await db.batch([
    db
      .update(fiscalMessages)
      .set({ attempts: n, lastHttpStatus: outcome.httpStatus, lastError: outcome.error, updatedAt: now })
      .where(eq(fiscalMessages.id, messageId)),
    // Unleased again: enqueueDelivery leases it after the send, or the sweep resends it.
    db.update(fiscalOutbox).set({ leaseUntil: null }).where(and(eq(fiscalOutbox.messageId, messageId), eq(fiscalOutbox.attempt, n))),
  ]);
  await enqueueDelivery(env, db, messageId, n, delay, requestId);
  return "retry";
}

export type { Db };
