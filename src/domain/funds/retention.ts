import { and, inArray, isNull, lt, ne } from "drizzle-orm";
import { z } from "zod";
import { cfg, defineConfig, type Env } from "../../env";
import type { Db } from "../../storage/db";
import { paymentInstructions } from "../../storage/schema/payment-instructions";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";

/** What replaces personal data once it is no longer needed. */
export const PURGED = "purged";

/**
 * PI_DATA_RETENTION_DAYS (default 365): how long after a payment instruction reaches a final status
 * its beneficiaries (names, account codes) and its signed disburse body are kept for reconciliation;
 * also how long the signed body of any other settled fiscal message (which may name individuals) is
 * kept after its last change.
 */
export const getRetentionConfig = defineConfig("data retention", z.object({ PI_DATA_RETENTION_DAYS: cfg.int(365, 1, 3650) }));

const FINAL = ["SUCCESSFUL", "COMPLETED", "FAILED"] as const;

/**
 * CONTRACT §11: beneficiaries' details only as long as reconciliation needs them. Final PIs past the
 * retention period lose their encrypted beneficiaries and their disburse message's stored body;
 * amounts, statuses and the log stay. Pages of 90 (D1's 100 bound parameters per statement).
 */
export async function purgeExpiredPersonalData(env: Env, db: Db, now = Date.now(), maxPages = 10): Promise<number> {
  const { PI_DATA_RETENTION_DAYS } = getRetentionConfig(env);
  const cutoff = new Date(now - PI_DATA_RETENTION_DAYS * 86_400_000).toISOString();
  let purged = 0;
  for (let page = 0; page < maxPages; page++) {
    const rows = await db
      .select({ piId: paymentInstructions.piId, messageId: paymentInstructions.messageId })
      .from(paymentInstructions)
      .where(and(inArray(paymentInstructions.status, [...FINAL]), lt(paymentInstructions.updatedAt, cutoff), ne(paymentInstructions.beneficiariesEnc, PURGED)))
      .limit(90)
      .all();
    if (!rows.length) break;
    await db.batch([
      db.update(paymentInstructions).set({ beneficiariesEnc: PURGED }).where(inArray(paymentInstructions.piId, rows.map((r) => r.piId))),
      db
        .update(fiscalMessages)
        .set({ wireBody: PURGED })
        .where(and(inArray(fiscalMessages.id, rows.map((r) => r.messageId)), ne(fiscalMessages.deliveryStatus, "QUEUED"))),
    ]);
    purged += rows.length;
    if (rows.length < 90) break;
  }
  // Other fiscal messages (programs, estimates, sanctions…): their signed bodies may name
  // individuals. Once delivery is settled (not QUEUED) and the retention period has passed since
  // their last change, the body goes; type, ids, statuses and callbacks stay.
  for (let page = 0; page < maxPages; page++) {
    const rows = await db
      .select({ id: fiscalMessages.id })
      .from(fiscalMessages)
      .where(and(isNull(fiscalMessages.piId), ne(fiscalMessages.deliveryStatus, "QUEUED"), lt(fiscalMessages.updatedAt, cutoff), ne(fiscalMessages.wireBody, PURGED)))
      .limit(90)
      .all();
    if (!rows.length) break;
    await db.update(fiscalMessages).set({ wireBody: PURGED }).where(inArray(fiscalMessages.id, rows.map((r) => r.id)));
    purged += rows.length;
    if (rows.length < 90) break;
  }
  return purged;
}
