import { and, asc, inArray, isNull, lt, or } from "drizzle-orm";
import type { Env } from "../env";
import { createDb, type Db } from "../storage/db";
import { fiscalOutbox } from "../storage/schema/fiscal-outbox";
import { DELIVERY_LEASE_MS, type FiscalDeliveryMessage } from "../domain/fiscal/messages";
import { fanOutReprojection, settleStaleReservations } from "../domain/funds/reconcile";
import { purgeExpiredPersonalData } from "../domain/funds/retention";
import { createLogger } from "../lib/logger";

/** Outbox rows never handed to the queue get this long (the request's own send) before a re-send. */
export const UNSENT_GRACE_MS = 60_000;

/**
 * Re-sends fiscal deliveries that were never sent or whose lease expired. Per page: one select, one
 * conditional UPDATE that moves the lease forward (re-checking the due condition, so two sweeps never
 * both take a row) and one sendBatch. A duplicate queue message would claim nothing anyway.
 */
// 90 ids + the lease and due-time parameters stay under D1's 100 bound parameters per statement.
export async function resendOutbox(env: Env, db: Db, now = Date.now(), pageSize = 90, maxPages = 20): Promise<number> {
  let sent = 0;
  const due = () => or(and(isNull(fiscalOutbox.leaseUntil), lt(fiscalOutbox.createdAt, now - UNSENT_GRACE_MS)), lt(fiscalOutbox.leaseUntil, now));
  for (let page = 0; page < maxPages; page++) {
    const rows = await db.select({ id: fiscalOutbox.messageId }).from(fiscalOutbox).where(due()).orderBy(asc(fiscalOutbox.createdAt)).limit(pageSize).all();
    if (!rows.length) break;
    const taken = await db
      .update(fiscalOutbox)
      .set({ leaseUntil: now + DELIVERY_LEASE_MS })
      .where(and(inArray(fiscalOutbox.messageId, rows.map((r) => r.id)), due()))
      .returning({ messageId: fiscalOutbox.messageId, attempt: fiscalOutbox.attempt })
      .all();
    if (taken.length) {
      const bodies: FiscalDeliveryMessage[] = taken.map((t) => ({ type: "fiscal.deliver", messageId: t.messageId, attempt: t.attempt }));
      await env.FISCAL_DELIVERY.sendBatch(bodies.map((body) => ({ body })));
    }
    sent += taken.length;
    if (rows.length < pageSize) break;
  }
  return sent;
}

/**
 * Every 15 minutes: outbox re-sends, stale PI reservations, the funds projection's convergence
 * (each account re-projected from its Durable Object by the fiscal queue's consumer, fanned out in
 * pages so one cron invocation stays within its D1 query budget however many accounts there are),
 * and the purge of beneficiaries' details past their retention (CONTRACT §11).
 */
export async function runFiscalSweep(_controller: ScheduledController | null, env: Env, _ctx?: ExecutionContext): Promise<void> {
  const db = createDb(env.DB);
  const log = createLogger({ job: "fiscalSweep" });
  const resent = await resendOutbox(env, db);
  const reservations = await settleStaleReservations(env, db);
  const accounts = await fanOutReprojection(env, db);
  const purged = await purgeExpiredPersonalData(env, db);
  log.info("fiscal sweep", { resent, ...reservations, accounts, purged });
}
