import { and, asc, isNull, lt, or, eq } from "drizzle-orm";
import type { Env } from "../env";
import { createDb, type Db } from "../storage/db";
import { fiscalOutbox } from "../storage/schema/fiscal-outbox";
import { DELIVERY_LEASE_MS, type FiscalDeliveryMessage } from "../domain/fiscal/messages";
import { reprojectAll, settleStaleReservations } from "../domain/funds/reconcile";
import { createLogger } from "../lib/logger";

/** Outbox rows never handed to the queue get this long (the request's own send) before a re-send. */
export const UNSENT_GRACE_MS = 60_000;

/**
 * Re-sends fiscal deliveries that were never sent or whose lease expired. Each re-send first moves
 * the lease forward (conditionally on the lease it saw), so two sweeps never both re-send a row;
 * a duplicate queue message would claim nothing anyway.
 */
export async function resendOutbox(env: Env, db: Db, now = Date.now(), pageSize = 100, maxPages = 10): Promise<number> {
  let sent = 0;
  for (let page = 0; page < maxPages; page++) {
    const due = await db
      .select()
      .from(fiscalOutbox)
      .where(or(and(isNull(fiscalOutbox.leaseUntil), lt(fiscalOutbox.createdAt, now - UNSENT_GRACE_MS)), lt(fiscalOutbox.leaseUntil, now)))
      .orderBy(asc(fiscalOutbox.createdAt))
      .limit(pageSize)
      .all();
    const mine: FiscalDeliveryMessage[] = [];
    for (const row of due) {
      const took = await db
        .update(fiscalOutbox)
        .set({ leaseUntil: now + DELIVERY_LEASE_MS })
        .where(
          and(
            eq(fiscalOutbox.messageId, row.messageId),
            eq(fiscalOutbox.attempt, row.attempt),
            row.leaseUntil === null ? isNull(fiscalOutbox.leaseUntil) : eq(fiscalOutbox.leaseUntil, row.leaseUntil),
          ),
        )
        .returning({ id: fiscalOutbox.messageId })
        .all();
      if (took.length) mine.push({ type: "fiscal.deliver", messageId: row.messageId, attempt: row.attempt });
    }
    for (let i = 0; i < mine.length; i += 100) await env.FISCAL_DELIVERY.sendBatch(mine.slice(i, i + 100).map((body) => ({ body })));
    sent += mine.length;
    if (due.length < pageSize) break;
  }
  return sent;
}

/** Every 15 minutes: outbox re-sends, stale PI reservations, funds projection convergence. */
export async function runFiscalSweep(_controller: ScheduledController | null, env: Env, _ctx?: ExecutionContext): Promise<void> {
  const db = createDb(env.DB);
  const log = createLogger({ job: "fiscalSweep" });
  const resent = await resendOutbox(env, db);
  const reservations = await settleStaleReservations(env, db);
  const accounts = await reprojectAll(env, db);
  log.info("fiscal sweep", { resent, ...reservations, accounts });
}
