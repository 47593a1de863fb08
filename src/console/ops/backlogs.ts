import { asc, count, eq, gte, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../../storage/db";
import { claims, CLAIM_STATUSES } from "../../storage/schema/claims";
import { claimWebhooks } from "../../storage/schema/claim-webhooks";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../storage/schema/fiscal-outbox";
import { deadLetters } from "../../storage/schema/dead-letters";
import { backlogSamples } from "../../storage/schema/backlog-samples";
import { openDeadLetter } from "./dead-letters";

/** Ages by time since the claim last changed: what an operator asks first ("how long has it been stuck?"). */
export const AGE_BUCKETS = [
  { key: "lt15m", label: "< 15 min", maxMs: 15 * 60_000 },
  { key: "lt1h", label: "15 min – 1 h", maxMs: 3_600_000 },
  { key: "lt6h", label: "1 – 6 h", maxMs: 6 * 3_600_000 },
  { key: "lt24h", label: "6 – 24 h", maxMs: 24 * 3_600_000 },
  { key: "older", label: "> 24 h", maxMs: Infinity },
] as const;
export type AgeKey = (typeof AGE_BUCKETS)[number]["key"];

/**
 * The statuses a claim waits in (or an operator acts on): their age matters. Final statuses only
 * accumulate; the overview counts them per period. Reading only these keeps the read on the status
 * index instead of the whole ledger.
 */
export const WAITING_STATUSES = ["SCHEDULED", "QUEUED", "PENDING", "FAILED"] as const satisfies readonly (typeof CLAIM_STATUSES)[number][];

/** Waiting claims by status and age: one grouped read, the bucket computed in SQL from `updated_at`. */
export async function claimsByStatusAndAge(db: Db, now = Date.now()) {
  const edge = (ms: number) => new Date(now - ms).toISOString();
  const bucket = sql<AgeKey>`case
    when ${claims.updatedAt} >= ${edge(15 * 60_000)} then 'lt15m'
    when ${claims.updatedAt} >= ${edge(3_600_000)} then 'lt1h'
    when ${claims.updatedAt} >= ${edge(6 * 3_600_000)} then 'lt6h'
    when ${claims.updatedAt} >= ${edge(24 * 3_600_000)} then 'lt24h'
    else 'older' end`;
  const rows = await db
    .select({ status: claims.status, age: bucket, n: count() })
    .from(claims)
    .where(inArray(claims.status, [...WAITING_STATUSES]))
    .groupBy(claims.status, bucket)
    .all();
  return WAITING_STATUSES.map((status) => {
    const cells = Object.fromEntries(AGE_BUCKETS.map((b) => [b.key, 0])) as Record<AgeKey, number>;
    for (const r of rows) if (r.status === status) cells[r.age] = Number(r.n);
    return { status, cells, total: Object.values(cells).reduce((a, b) => a + b, 0) };
  });
}

export interface Oldest {
  portal: "assam" | "ifix" | "webhook";
  what: string;
  id: string | null;
  since: string | null;
  href: string | null;
}

/** The oldest undelivered item per portal: a QUEUED claim, a QUEUED fiscal message, a PENDING webhook. */
export async function oldestUndelivered(db: Db): Promise<Oldest[]> {
  const [claim, msg, hook] = await Promise.all([
    db.select({ id: claims.id, at: claims.updatedAt }).from(claims).where(eq(claims.status, "QUEUED")).orderBy(asc(claims.updatedAt)).limit(1).get(),
    db
      .select({ id: fiscalMessages.id, at: fiscalMessages.createdAt })
      .from(fiscalMessages)
      .where(eq(fiscalMessages.deliveryStatus, "QUEUED"))
      .orderBy(asc(fiscalMessages.createdAt))
      .limit(1)
      .get(),
    db
      .select({ id: claimWebhooks.id, claimId: claimWebhooks.claimId, at: claimWebhooks.createdAt })
      .from(claimWebhooks)
      .where(eq(claimWebhooks.state, "PENDING"))
      .orderBy(asc(claimWebhooks.createdAt))
      .limit(1)
      .get(),
  ]);
  return [
    {
      portal: "assam",
      what: "claim waiting for delivery (QUEUED)",
      id: claim?.id ?? null,
      since: claim?.at ?? null,
      href: claim ? `/console/claims/${claim.id}` : null,
    },
    {
      portal: "ifix",
      what: "fiscal message waiting for delivery",
      id: msg?.id ?? null,
      since: msg?.at ?? null,
      href: msg ? `/console/fiscal-messages/${encodeURIComponent(msg.id)}` : null,
    },
    {
      portal: "webhook",
      what: "claim status webhook not yet delivered",
      id: hook?.id ?? null,
      since: hook?.at ?? null,
      href: hook ? `/console/claims/${hook.claimId}` : null,
    },
  ];
}

export interface Depths {
  claimsQueued: number;
  claimsPending: number;
  fiscalOutbox: number;
  webhooksPending: number;
  deadLettersOpen: number;
}

/** How deep each backlog is now (queues cannot be asked: the ledgers and outboxes are). */
export async function depths(db: Db): Promise<Depths> {
  const n = (r: { n: number } | undefined) => Number(r?.n ?? 0);
  const [queued, pending, outbox, hooks, open] = await Promise.all([
    db.select({ n: count() }).from(claims).where(eq(claims.status, "QUEUED")).get(),
    db.select({ n: count() }).from(claims).where(eq(claims.status, "PENDING")).get(),
    db.select({ n: count() }).from(fiscalOutbox).get(),
    db.select({ n: count() }).from(claimWebhooks).where(eq(claimWebhooks.state, "PENDING")).get(),
    db.select({ n: count() }).from(deadLetters).where(openDeadLetter()).get(),
  ]);
  return { claimsQueued: n(queued), claimsPending: n(pending), fiscalOutbox: n(outbox), webhooksPending: n(hooks), deadLettersOpen: n(open) };
}

/** Dead letters per kind: waiting for an operator, and ever. */
export async function deadLettersByKind(db: Db) {
  const rows = await db
    .select({
      kind: deadLetters.kind,
      queue: deadLetters.queue,
      total: count(),
      open: sql<number>`sum(case when ${openDeadLetter()} then 1 else 0 end)`,
    })
    .from(deadLetters)
    .groupBy(deadLetters.kind, deadLetters.queue)
    .orderBy(asc(deadLetters.kind))
    .limit(100)
    .all();
  return rows.map((r) => ({ kind: r.kind, queue: r.queue, total: Number(r.total), open: Number(r.open ?? 0) }));
}

export const SAMPLE_RETENTION_MS = 7 * 86_400_000;

/** Records the backlogs now (the quarter-hourly cron) and drops samples older than a week. */
export async function sampleBacklogs(db: Db, now = Date.now()): Promise<Depths> {
  const d = await depths(db);
  await db.batch([
    db
      .insert(backlogSamples)
      .values({ at: new Date(now).toISOString(), ...d })
      .onConflictDoNothing(),
    db.delete(backlogSamples).where(lt(backlogSamples.at, new Date(now - SAMPLE_RETENTION_MS).toISOString())),
  ]);
  return d;
}

/** The samples of the last 24 hours, oldest first (at most 96 at one per 15 minutes, more if fired by hand). */
export async function samplesSince(db: Db, now = Date.now()) {
  return db
    .select()
    .from(backlogSamples)
    .where(gte(backlogSamples.at, new Date(now - 86_400_000).toISOString()))
    .orderBy(asc(backlogSamples.at))
    .limit(500)
    .all();
}
