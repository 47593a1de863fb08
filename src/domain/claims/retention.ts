import { z } from "zod";
import { sql } from "drizzle-orm";
import { cfg, defineConfig, type Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { claimSubmissions } from "../../storage/schema/claim-submissions";
import { claimDeliveries } from "../../storage/schema/claim-deliveries";
import { claimWebhooks } from "../../storage/schema/claim-webhooks";
import { upstreamCalls } from "../../storage/schema/upstream-calls";

const DAY_MS = 86_400_000;

/**
 * How long the claims area keeps what it does not need for ever (CONTRACT §11), in days:
 * - UPSTREAM_CALLS_RETENTION_DAYS (90): the transaction log of every portal (upstream_calls: the
 *   portals' error texts among them) and the claims' poll records;
 * - CLAIM_WEBHOOKS_RETENTION_DAYS (30): claim webhooks already DELIVERED or given up (FAILED);
 * - CLAIMS_PERSONAL_DATA_RETENTION_DAYS (365): for settled claims (ACCEPTED, REJECTED, CANCELLED, or
 *   FAILED without a month to hold) untouched that long, the verifier's name, the portal's error
 *   texts and the stored wire body are removed (ASHA id, counts, amounts, statuses and the body's
 *   hash stay for reconciliation). Such a claim can no longer be replayed.
 */
export const getClaimsRetentionConfig = defineConfig(
  "claims retention",
  z.object({
    UPSTREAM_CALLS_RETENTION_DAYS: cfg.int(90, 1, 3650),
    CLAIM_WEBHOOKS_RETENTION_DAYS: cfg.int(30, 1, 3650),
    CLAIMS_PERSONAL_DATA_RETENTION_DAYS: cfg.int(365, 1, 3650),
  }),
);

/** Rows one statement removes, and statements per table per sweep run: a run stays far inside a cron's query budget. */
export const RETENTION_PAGE = 500;
export const RETENTION_MAX_PAGES = 8;

export interface RetentionReport {
  upstreamCalls: number;
  pollRecords: number;
  webhooks: number;
  claimsPurged: number;
}

/** Runs a page-sized delete until fewer than a page remain or the run's bound is reached. */
async function deletePaged(run: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let page = 0; page < RETENTION_MAX_PAGES; page++) {
    const n = await run();
    total += n;
    if (n < RETENTION_PAGE) break;
  }
  return total;
}

const changes = (r: unknown) => Number((r as { meta?: { changes?: number } })?.meta?.changes ?? 0);

/**
 * The retention sweep of the claims area (every 15 minutes, bounded per run: at most
 * RETENTION_MAX_PAGES × RETENTION_PAGE rows per kind, oldest first, each statement on an index).
 */
export async function enforceClaimsRetention(env: Env, db: Db, now: number = Date.now()): Promise<RetentionReport> {
  const c = getClaimsRetentionConfig(env);
  const logBefore = new Date(now - c.UPSTREAM_CALLS_RETENTION_DAYS * DAY_MS).toISOString();
  const hooksBefore = new Date(now - c.CLAIM_WEBHOOKS_RETENTION_DAYS * DAY_MS).toISOString();
  const dataBefore = new Date(now - c.CLAIMS_PERSONAL_DATA_RETENTION_DAYS * DAY_MS).toISOString();

  const upstream = await deletePaged(async () =>
    changes(
      await db.run(
        sql`DELETE FROM ${upstreamCalls} WHERE id IN (SELECT id FROM ${upstreamCalls} WHERE at < ${logBefore} ORDER BY at LIMIT ${RETENTION_PAGE})`,
      ),
    ),
  );
  const polls = await deletePaged(async () =>
    changes(
      await db.run(
        sql`DELETE FROM ${claimDeliveries} WHERE id IN (SELECT id FROM ${claimDeliveries} WHERE operation = 'poll' AND at < ${logBefore} ORDER BY at LIMIT ${RETENTION_PAGE})`,
      ),
    ),
  );
  let webhooks = 0;
  for (const state of ["DELIVERED", "FAILED"] as const) {
    webhooks += await deletePaged(async () =>
      changes(
        await db.run(
          sql`DELETE FROM ${claimWebhooks} WHERE id IN (SELECT id FROM ${claimWebhooks} WHERE state = ${state} AND created_at < ${hooksBefore} ORDER BY created_at LIMIT ${RETENTION_PAGE})`,
        ),
      ),
    );
  }

  // Claims: pick a page of settled, untouched claims, then clear them and their wire bodies in one batch.
  let purged = 0;
  const at = new Date(now).toISOString();
  for (let page = 0; page < RETENTION_MAX_PAGES; page++) {
    const due = await db
      .select({ id: claims.id })
      .from(claims)
      .where(
        sql`${claims.purgedAt} IS NULL AND ${claims.updatedAt} < ${dataBefore}
          AND (${claims.status} IN ('ACCEPTED', 'REJECTED', 'CANCELLED') OR (${claims.status} = 'FAILED' AND ${claims.holdsMonth} = 0))`,
      )
      .orderBy(claims.purgedAt, claims.updatedAt)
      .limit(RETENTION_PAGE)
      .all();
    if (!due.length) break;
    const ids = JSON.stringify(due.map((d) => d.id));
    await db.batch([
      db
        .update(claims)
        .set({
          verifierName: "",
          purgedAt: at,
          // The portal's codes stay; their texts go.
          errors: sql`(SELECT json_group_array(json_object('code', json_extract(e.value, '$.code'), 'message', '')) FROM json_each(${claims.errors}) AS e)`,
        })
        .where(sql`${claims.id} IN (SELECT value FROM json_each(${ids})) AND ${claims.purgedAt} IS NULL`),
      db.update(claimSubmissions).set({ wireBody: "" }).where(sql`${claimSubmissions.claimId} IN (SELECT value FROM json_each(${ids}))`),
    ]);
    purged += due.length;
    if (due.length < RETENTION_PAGE) break;
  }
  return { upstreamCalls: upstream, pollRecords: polls, webhooks, claimsPurged: purged };
}
