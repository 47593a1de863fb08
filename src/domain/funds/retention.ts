import { and, asc, eq, inArray, isNull, lt, ne, notInArray } from "drizzle-orm";
import { z } from "zod";
import { cfg, defineConfig, type Env } from "../../env";
import type { Db } from "../../storage/db";
import { paymentInstructions } from "../../storage/schema/payment-instructions";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { fiscalCallbacks } from "../../storage/schema/fiscal-callbacks";
import { fiscalOutbox } from "../../storage/schema/fiscal-outbox";

/** What replaces personal data once it is no longer needed. */
export const PURGED = "purged";
/** A D1 row whose sealed content lives in its account's object (PIs made by the ledger-and-outbox design). */
export const HELD_BY_ACCOUNT = "held-by-account";

/**
 * PI_DATA_RETENTION_DAYS (default 365): how long after a payment instruction reaches a final status
 * its beneficiaries (names, account codes) and its disburse message are kept for reconciliation;
 * also how long the stored body of any other settled fiscal message (which may name individuals) is
 * kept after its last change. FISCAL_CALLBACK_RETENTION_DAYS (default 400): how long verified iFIX
 * callbacks (header fields, status, hashes; never personal details) are kept.
 */
export const getRetentionConfig = defineConfig(
  "data retention",
  z.object({ PI_DATA_RETENTION_DAYS: cfg.int(365, 1, 3650), FISCAL_CALLBACK_RETENTION_DAYS: cfg.int(400, 1, 3650) }),
);

const FINAL = ["SUCCESSFUL", "COMPLETED", "FAILED"] as const;
/** 90 ids per statement stay under D1's 100 bound parameters. */
export const PURGE_PAGE = 90;

export interface PurgeReport {
  /** Legacy PIs (beneficiaries in D1) whose beneficiaries were purged. */
  pis: number;
  /** Fiscal messages whose stored body was purged. */
  messages: number;
  /** Legacy disburse messages still queued for a FAILED PI: cancelled, never sent, and purged. */
  cancelled: number;
  callbacks: number;
  failures: number;
}

/**
 * CONTRACT §11 in D1, oldest first, in pages, each page in its own try (a failure is counted and the
 * rest goes on). PIs made by the ledger-and-outbox design keep their beneficiaries in their account's
 * object, which purges them itself (FundsAccount.purgePersonalData); here:
 * - PIs from before (beneficiaries sealed in D1), final past the retention period: beneficiaries and
 *   their disburse's body go; amounts, statuses and the log stay. A disburse still queued for such a
 *   PI that is FAILED is cancelled (its funds are back: it must never be sent) and purged; one still
 *   queued for a paid PI keeps its body until its delivery settles (a later run purges it).
 * - other fiscal messages, settled (not QUEUED) and unchanged for the period: the stored body goes.
 * - verified callbacks older than FISCAL_CALLBACK_RETENTION_DAYS.
 */
export async function purgeExpiredPersonalData(env: Env, db: Db, now = Date.now(), maxPages = 10): Promise<PurgeReport> {
  const { PI_DATA_RETENTION_DAYS, FISCAL_CALLBACK_RETENTION_DAYS } = getRetentionConfig(env);
  const cutoff = new Date(now - PI_DATA_RETENTION_DAYS * 86_400_000).toISOString();
  const r: PurgeReport = { pis: 0, messages: 0, cancelled: 0, callbacks: 0, failures: 0 };
  const pages = async (step: () => Promise<number>) => {
    for (let page = 0; page < maxPages; page++) {
      let n: number;
      try {
        n = await step();
      } catch {
        r.failures++;
        return;
      }
      if (n < PURGE_PAGE) return;
    }
  };

  await pages(async () => {
    const rows = await db
      .select({ piId: paymentInstructions.piId, messageId: paymentInstructions.messageId, status: paymentInstructions.status })
      .from(paymentInstructions)
      .where(
        and(
          inArray(paymentInstructions.status, [...FINAL]),
          lt(paymentInstructions.updatedAt, cutoff),
          notInArray(paymentInstructions.beneficiariesEnc, [PURGED, HELD_BY_ACCOUNT]),
        ),
      )
      .orderBy(asc(paymentInstructions.updatedAt), asc(paymentInstructions.piId))
      .limit(PURGE_PAGE)
      .all();
    if (!rows.length) return 0;
    const failedIds = rows.filter((x) => x.status === "FAILED").map((x) => x.messageId);
    const iso = new Date(now).toISOString();
    const res = await db.batch([
      db
        .update(paymentInstructions)
        .set({ beneficiariesEnc: PURGED })
        .where(
          inArray(
            paymentInstructions.piId,
            rows.map((x) => x.piId),
          ),
        ),
      // Queued disburses of FAILED PIs: cancelled before their bodies go (never sent).
      db
        .update(fiscalMessages)
        .set({ deliveryStatus: "CANCELLED", wireBody: PURGED, lastError: "cancelled: its payment instruction FAILED", updatedAt: iso })
        .where(and(inArray(fiscalMessages.id, failedIds.length ? failedIds : [""]), eq(fiscalMessages.deliveryStatus, "QUEUED")))
        .returning({ id: fiscalMessages.id }),
      db.delete(fiscalOutbox).where(inArray(fiscalOutbox.messageId, failedIds.length ? failedIds : [""])),
      db
        .update(fiscalMessages)
        .set({ wireBody: PURGED })
        .where(
          and(
            inArray(
              fiscalMessages.id,
              rows.map((x) => x.messageId),
            ),
            ne(fiscalMessages.deliveryStatus, "QUEUED"),
          ),
        ),
    ]);
    r.pis += rows.length;
    r.cancelled += (res[1] as unknown[]).length;
    return rows.length;
  });

  // Other fiscal messages (programs, estimates, sanctions, raw disbursements…): once delivery is
  // settled and the period has passed since their last change, the body goes; type, ids, statuses
  // and callbacks stay.
  await pages(async () => {
    const rows = await db
      .select({ id: fiscalMessages.id })
      .from(fiscalMessages)
      .where(
        and(
          isNull(fiscalMessages.piId),
          ne(fiscalMessages.deliveryStatus, "QUEUED"),
          lt(fiscalMessages.updatedAt, cutoff),
          notInArray(fiscalMessages.wireBody, [PURGED, HELD_BY_ACCOUNT]),
        ),
      )
      .orderBy(asc(fiscalMessages.updatedAt), asc(fiscalMessages.id))
      .limit(PURGE_PAGE)
      .all();
    if (!rows.length) return 0;
    await db
      .update(fiscalMessages)
      .set({ wireBody: PURGED })
      .where(
        inArray(
          fiscalMessages.id,
          rows.map((x) => x.id),
        ),
      );
    r.messages += rows.length;
    return rows.length;
  });

  const cbCutoff = new Date(now - FISCAL_CALLBACK_RETENTION_DAYS * 86_400_000).toISOString();
  await pages(async () => {
    const rows = await db
      .select({ id: fiscalCallbacks.id })
      .from(fiscalCallbacks)
      .where(lt(fiscalCallbacks.receivedAt, cbCutoff))
      .orderBy(asc(fiscalCallbacks.receivedAt), asc(fiscalCallbacks.id))
      .limit(PURGE_PAGE)
      .all();
    if (!rows.length) return 0;
    await db.delete(fiscalCallbacks).where(
      inArray(
        fiscalCallbacks.id,
        rows.map((x) => x.id),
      ),
    );
    r.callbacks += rows.length;
    return rows.length;
  });
  return r;
}
