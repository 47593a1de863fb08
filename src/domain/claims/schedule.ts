import { and, asc, eq, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { claimWebhooks } from "../../storage/schema/claim-webhooks";
import { claimReconciliations } from "../../storage/schema/claim-reconciliations";
import type { BatchItem } from "drizzle-orm/batch";
import { chunk, ENQUEUE_GRACE_MS, sendWebhooks, webhookInsert, webhooksEnabled } from "./ledger";
import { deliverMessage, type ClaimsQueueMessage } from "./messages";
import { enqueueClaims } from "./outbox";
import { currentIstPeriod, lastCutoff, previousPeriod } from "./periods";
import { POLL_INTERVAL_MS } from "./settle";

/** Claims per cut-off page: one sendBatch (≤ 100 messages) and two D1 statements per page. */
export const CUTOFF_PAGE_SIZE = 100;
/**
 * Pages one cut-off message handles before it hands the rest to the next message (3 subrequests a
 * page, 4 with webhooks: at most 40 an invocation, inside even the free plan's 50). One page per message capped the cut-off at about 100 claims a second
 * whatever the pace: a continuation message alone in the queue waits out the queue's batch timeout
 * (1 s) before it is delivered. Ten a message lets it queue faster than any portal pace we run at.
 */
export const CUTOFF_PAGES_PER_MESSAGE = 10;
/** Pages a sweep run handles directly (each ≤ 100 claims, 2–3 queries): well inside 1,000 queries. */
export const SWEEP_MAX_PAGES = 20;
export { POLL_INTERVAL_MS };

/** The first cut-off message; the rest follow through the queue (CUTOFF_PAGES_PER_MESSAGE pages a message). */
export async function startCutoff(env: Env, upTo: string, runId: string = crypto.randomUUID(), createdBefore?: string) {
  await env.CLAIMS_DELIVERY.send({ type: "cutoff-page", runId, upTo, createdBefore, after: null, page: 0 } satisfies ClaimsQueueMessage);
}

/**
 * Safety net for a cut-off that did not run (a failed cron, a lost first page): SCHEDULED claims of
 * covered periods created before the last cut-off moment should have been queued by it. An hour
 * after that moment, the sweep starts the walk again for them (claims created after the cut-off
 * wait for the next one, as CONTRACT §5 says). Pages are idempotent, so a second walk is harmless.
 */
export async function recoverMissedCutoff(env: Env, db: Db, now: number = Date.now()): Promise<boolean> {
  const cut = lastCutoff(now);
  if (now < cut.at + 60 * 60_000) return false;
  const createdBefore = new Date(cut.at).toISOString();
  const missed = await db
    .select({ id: claims.id })
    .from(claims)
    .where(and(eq(claims.status, "SCHEDULED"), lte(claims.period, cut.upTo), lt(claims.createdAt, createdBefore)))
    .limit(1)
    .get();
  if (!missed) return false;
  await startCutoff(env, cut.upTo, `recover:${cut.upTo}:${now}`, createdBefore);
  return true;
}

type CutoffPageMessage = Extract<ClaimsQueueMessage, { type: "cutoff-page" }>;

/**
 * One cut-off message: up to `pages` pages (CUTOFF_PAGES_PER_MESSAGE) one after another, then, when
 * the last was full, the next message at the cursor and page number reached. Memory stays flat
 * however many claims there are (one page's rows at a time), and each invocation does a bounded
 * number of queries. A crash anywhere leaves QUEUED claims with a lease deadline (the sweep re-queues
 * them) or a page message that the queue retries (from its own cursor: claims already QUEUED are no
 * longer SCHEDULED, so nothing is queued twice).
 *
 * The next message is queued just ahead of the last page's deliveries, not after them: last in the
 * queue, it sat in a batch short of 100 for the batch timeout, and the deliveries with it, every
 * 1,000 claims (2 s each in the cut-off bench). Ahead of a page, its batch fills at once, and the
 * walk still keeps only about one message's claims ahead of the deliveries.
 */
export async function processCutoffPage(env: Env, db: Db, msg: CutoffPageMessage, pages = CUTOFF_PAGES_PER_MESSAGE): Promise<number> {
  let at: CutoffPageMessage = msg;
  let total = 0;
  for (let k = 0; k < pages; k++) {
    const page = await cutoffPage(env, db, at, k === pages - 1);
    total += page.queued;
    if (page.next === null) return total;
    at = { ...at, ...page.next, page: at.page + 1 };
  }
  return total;
}

/**
 * The page's read: SCHEDULED claims of periods up to `upTo` after the cursor, 100 at a time.
 * Keyset on (period, id), the index's own order after status: each page is a seek of 100 index
 * entries. The cursor on id alone (ordered by id across periods) made every page read and sort every
 * SCHEDULED claim left: ten pages took 1.6-2 s with 35,000 claims waiting, 0.3 s with 3,000.
 */
export function cutoffPageQuery(db: Db, msg: CutoffPageMessage) {
  return db
    .select()
    .from(claims)
    .where(
      and(
        eq(claims.status, "SCHEDULED"),
        lte(claims.period, msg.upTo),
        msg.createdBefore ? lt(claims.createdAt, msg.createdBefore) : undefined,
        msg.after !== null && msg.afterPeriod !== undefined ? sql`(${claims.period}, ${claims.id}) > (${msg.afterPeriod}, ${msg.after})` : undefined,
      ),
    )
    .orderBy(asc(claims.period), asc(claims.id))
    .limit(CUTOFF_PAGE_SIZE);
}

/**
 * One page: SCHEDULED claims of periods up to `upTo`, after the keyset cursor (period, claim id),
 * become QUEUED in one D1 batch and are enqueued in one sendBatch. `next`: the cursor after a full page.
 * When `handOn`, a full page first queues the next cut-off message at that cursor (a failed send
 * fails the page, so that the queue retries it).
 */
async function cutoffPage(
  env: Env,
  db: Db,
  msg: CutoffPageMessage,
  handOn: boolean,
): Promise<{ queued: number; next: { after: string; afterPeriod: string } | null }> {
  const page = await cutoffPageQuery(db, msg).all();
  if (!page.length) return { queued: 0, next: null };
  const dispatchId = `${msg.runId}:${msg.page}`;
  const now = Date.now();
  const at = new Date(now).toISOString();
  const ids = page.map((p) => p.id);
  const patch = { status: "QUEUED" as const, dispatchId, leaseOwner: null, leaseUntil: now + ENQUEUE_GRACE_MS, nextAttemptAt: null, updatedAt: at };
  // SCHEDULED → QUEUED is a status change: its webhook rows go first in the same batch, each
  // guarded like the update, so a claim cancelled meanwhile gets neither.
  const hooks = webhooksEnabled(env)
    ? page.map((row) => webhookInsert(db, crypto.randomUUID(), row, "SCHEDULED", patch, at, [eq(claims.id, row.id), eq(claims.status, "SCHEDULED")]))
    : [];
  // Updates of 50 ids each: D1 binds at most 100 parameters per statement.
  const updates = chunk(ids, 50).map((part) =>
    db
      .update(claims)
      .set(patch)
      .where(and(inArray(claims.id, part), eq(claims.status, "SCHEDULED")))
      .returning({ id: claims.id }),
  );
  const results = (await db.batch([...hooks, ...updates] as unknown as [BatchItem<"sqlite">])) as { id: string }[][];
  const queued = results.slice(hooks.length).flat();
  const webhookIds = results.slice(0, hooks.length).flat();
  const last = page[page.length - 1];
  const next = page.length === CUTOFF_PAGE_SIZE ? { after: last.id, afterPeriod: last.period } : null;
  if (handOn && next !== null) await env.CLAIMS_DELIVERY.send({ ...msg, ...next, page: msg.page + 1 } satisfies ClaimsQueueMessage);
  await enqueueClaims(
    env,
    queued.map((q) => deliverMessage(q.id, dispatchId)),
  );
  if (webhookIds.length)
    await sendWebhooks(
      env,
      webhookIds.map((w) => w.id),
    );
  return { queued: queued.length, next };
}

/**
 * Re-queues QUEUED claims whose lease deadline passed (a lost message, a crash between the ledger
 * write and the enqueue, a consumer that died holding the lease). Each page takes its claims with a
 * conditional UPDATE (new dispatch id), so two sweeps never double-send.
 */
export async function requeueExpired(env: Env, db: Db, now: number = Date.now()): Promise<number> {
  let total = 0;
  for (let page = 0; page < SWEEP_MAX_PAGES; page++) {
    const due = await db
      .select({ id: claims.id })
      .from(claims)
      .where(and(eq(claims.status, "QUEUED"), lte(claims.leaseUntil, now)))
      .limit(100)
      .all();
    if (!due.length) break;
    const dispatchId = `sweep:${crypto.randomUUID()}`;
    const results = await db.batch(
      chunk(
        due.map((d) => d.id),
        50,
      ).map((part) =>
        db
          .update(claims)
          .set({ dispatchId, leaseOwner: null, leaseUntil: now + ENQUEUE_GRACE_MS })
          .where(and(inArray(claims.id, part), eq(claims.status, "QUEUED"), lte(claims.leaseUntil, now)))
          .returning({ id: claims.id }),
      ) as unknown as [BatchItem<"sqlite">],
    );
    const taken = (results as { id: string }[][]).flat();
    await enqueueClaims(
      env,
      taken.map((t) => deliverMessage(t.id, dispatchId)),
    );
    total += taken.length;
    if (due.length < 100) break;
  }
  return total;
}

/**
 * Asks the consumers to poll PENDING claims whose next poll is due (the interval grows with the polls
 * a claim has had: see settle.ts), oldest first, in pages of 100 poll messages (the consumers pace
 * them toward the portal in the polls' own lane).
 */
export async function schedulePolls(env: Env, db: Db, now: number = Date.now()): Promise<number> {
  let total = 0;
  for (let page = 0; page < SWEEP_MAX_PAGES; page++) {
    const due = await db
      .select({ id: claims.id })
      .from(claims)
      .where(and(eq(claims.status, "PENDING"), or(isNull(claims.nextPollAt), lte(claims.nextPollAt, now))))
      .orderBy(asc(claims.nextPollAt))
      .limit(100)
      .all();
    if (!due.length) break;
    // Mark them as asked-for, so the next page (and the next sweep) moves on; the poll sets the real next time.
    await db.batch(
      chunk(
        due.map((d) => d.id),
        50,
      ).map((part) =>
        db
          .update(claims)
          .set({ nextPollAt: now + POLL_INTERVAL_MS })
          .where(inArray(claims.id, part)),
      ) as unknown as [BatchItem<"sqlite">],
    );
    await enqueueClaims(
      env,
      due.map((d) => ({ body: { type: "poll" as const, claimId: d.id } })),
    );
    total += due.length;
    if (due.length < 100) break;
  }
  return total;
}

/** Re-sends webhook outbox rows still PENDING past their due time (at least once). */
export async function resendWebhooks(env: Env, db: Db, now: number = Date.now()): Promise<number> {
  if (!webhooksEnabled(env)) return 0;
  let total = 0;
  for (let page = 0; page < SWEEP_MAX_PAGES; page++) {
    const due = await db
      .select({ id: claimWebhooks.id })
      .from(claimWebhooks)
      .where(and(eq(claimWebhooks.state, "PENDING"), lte(claimWebhooks.nextAttemptAt, now)))
      .limit(100)
      .all();
    if (!due.length) break;
    await db.batch(
      chunk(
        due.map((d) => d.id),
        50,
      ).map((part) =>
        db
          .update(claimWebhooks)
          .set({ nextAttemptAt: now + ENQUEUE_GRACE_MS })
          .where(inArray(claimWebhooks.id, part)),
      ) as unknown as [BatchItem<"sqlite">],
    );
    await sendWebhooks(
      env,
      due.map((d) => d.id),
    );
    total += due.length;
    if (due.length < 100) break;
  }
  return total;
}

export interface StatusFigure {
  status: string;
  count: number;
  totalPaise: number;
}

/** Counts and amounts per status for a period, per client (the ledger is the truth). */
export async function figuresFor(db: Db, period: string, ownerId?: string): Promise<StatusFigure[]> {
  return db
    .select({ status: claims.status, count: sql<number>`count(*)`, totalPaise: sql<number>`coalesce(sum(${claims.totalPaise}), 0)` })
    .from(claims)
    .where(and(eq(claims.period, period), ownerId ? eq(claims.ownerId, ownerId) : undefined))
    .groupBy(claims.status)
    .all();
}

/**
 * The monthly reconciliation: counts and amounts per period, client and status, kept in
 * claim_reconciliations for the current and the previous IST month (the ones still moving).
 */
export async function reconcile(db: Db, now: number = Date.now(), periods?: string[]): Promise<string[]> {
  const current = currentIstPeriod(now);
  const list = periods ?? [previousPeriod(current), current];
  const computedAt = new Date(now).toISOString();
  for (const period of list) {
    const rows = await db
      .select({
        ownerId: claims.ownerId,
        status: claims.status,
        count: sql<number>`count(*)`,
        totalPaise: sql<number>`coalesce(sum(${claims.totalPaise}), 0)`,
      })
      .from(claims)
      .where(eq(claims.period, period))
      .groupBy(claims.ownerId, claims.status)
      .all();
    const stmts = [
      db.delete(claimReconciliations).where(eq(claimReconciliations.period, period)),
      ...rows.map((r) =>
        db
          .insert(claimReconciliations)
          .values({ period, ownerId: r.ownerId, status: r.status, claimCount: r.count, totalPaise: r.totalPaise, computedAt }),
      ),
    ];
    await db.batch(stmts as [(typeof stmts)[0]]);
  }
  return list;
}
