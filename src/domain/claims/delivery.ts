import { sql } from "drizzle-orm";
import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import type { Db } from "../../storage/db";
import { claims, type ClaimStatus } from "../../storage/schema/claims";
import { claimSubmissions } from "../../storage/schema/claim-submissions";
import type { DeliveryOutcome } from "../../storage/schema/claim-deliveries";
import { upstreamCallsInsert } from "../../storage/upstream-calls";
import { submitMany, pollMany, MAX_CONNECTIONS, type PortalResult } from "../../adapters/assam/client";
import type { UpstreamCallRecorder, UpstreamCallReport } from "../../adapters/recorder";
import { deadLetter } from "../../queues/dead-letters.consumer";
import { QUEUES } from "../../queues/names";
import { raiseAlert } from "../../cron/alerts.job";
import { createLogger } from "../../lib/logger";
import { retryDelaySeconds, toDelaySeconds } from "./backoff";
import {
  bulkChangeStatements,
  ENQUEUE_GRACE_MS,
  holdsMonth,
  mayMove,
  sendWebhooks,
  type ClaimRow,
  type Statement,
  type TransitionSpec,
} from "./ledger";
import { deliverMessage } from "./messages";
import { enqueueClaims } from "./outbox";
import { nextPollAt, NOT_AT_PORTAL, pollOutcome, settlementOf, type Settlement } from "./settle";

/** A consumer waits inline for send slots up to this long; claims beyond it are re-queued with a delay. */
export const MAX_INLINE_WAIT_MS = 10_000;

export type DeliveryStep = "skipped" | "delivered" | "rejected" | "conflict" | "refused" | "retry" | "failed" | "paced";

/**
 * How long a consumer holds the claims it leased: the wait for slots, every request at
 * MAX_CONNECTIONS at a time with a 401 renewal each (two timeouts), the give-up status reads, and a
 * margin. A consumer that dies holding them leaves them to the message's redelivery once this passes,
 * or to the sweep.
 */
export const leaseMs = (env: Env, n: number) => {
  const t = getUpstreamConfig(env).UPSTREAM_TIMEOUT_MS;
  return 2 * MAX_INLINE_WAIT_MS + 2 * Math.ceil(Math.max(1, n) / MAX_CONNECTIONS) * t + t + 30_000;
};

const settledLease = { leaseOwner: null, leaseUntil: null, nextAttemptAt: null, dispatchId: null };

const attemptOutcome = (r: Extract<PortalResult, { kind: "retry" }>): DeliveryOutcome =>
  r.reason === "timeout" ? "timeout" : r.reason === "network" ? "network" : r.reason === "unauthorized" ? "unauthorized" : "retry";

function describe(r: { reason: string; httpStatus: number | null }): string {
  if (r.reason === "timeout") return "the portal did not answer in time";
  if (r.reason === "network") return "network error";
  if (r.reason === "token") return "no token from the portal";
  return `the portal answered HTTP ${r.httpStatus ?? "?"}`;
}

/** What one delivery attempt changes on its (leased) claim, and what follows once it is written. */
interface Change {
  step: DeliveryStep;
  row: ClaimRow;
  patch: TransitionSpec["patch"];
  delivery?: TransitionSpec["delivery"];
  /** A second record: the status read made before giving up. */
  poll?: TransitionSpec["delivery"];
  requeue?: { dispatchId: string; delaySeconds: number };
  deadLetter?: string;
  refusedStatus?: number;
}

/** The change for one claim after its attempt (and, when giving up, the portal's status read). */
function changeFor(env: Env, row: ClaimRow, result: PortalResult, settlement: Settlement | undefined, now: number): Change {
  const { DELIVERY_MAX_ATTEMPTS, DELIVERY_BACKOFF_BASE_MS } = getUpstreamConfig(env);
  const requeue = (delaySeconds: number) => ({ dispatchId: crypto.randomUUID(), delaySeconds });
  const requeuePatch = (q: { delaySeconds: number; dispatchId: string }) => ({
    dispatchId: q.dispatchId,
    leaseOwner: null,
    leaseUntil: now + q.delaySeconds * 1000 + ENQUEUE_GRACE_MS,
    nextAttemptAt: now + q.delaySeconds * 1000,
  });
  if (result.kind === "paced") {
    // Nothing was sent: no attempt is counted.
    const q = requeue(toDelaySeconds(result.waitMs));
    return { step: "paced", row, patch: requeuePatch(q), requeue: q };
  }
  const attempt = row.attempts + 1;
  const counted = { attempts: attempt, cycleAttempts: row.cycleAttempts + 1 };
  const record = (outcome: DeliveryOutcome, httpStatus: number | null, durationMs: number, errorCode: string | null) => ({
    operation: "submit" as const,
    attempt,
    outcome,
    httpStatus,
    durationMs,
    errorCode,
  });

  if (result.kind === "ok") {
    const status: ClaimStatus = result.answer.status ?? "PENDING";
    return {
      step: status === "REJECTED" ? "rejected" : "delivered",
      row,
      patch: {
        ...counted,
        ...settledLease,
        status,
        receipt: result.answer.receipt,
        errors: status === "REJECTED" ? result.answer.errors : [],
        failureCode: null,
        holdsMonth: holdsMonth(status, true),
        lastPolledAt: now,
        nextPollAt: status === "PENDING" ? nextPollAt(0, now) : null,
      },
      delivery: record(pollOutcome(status), result.httpStatus, result.durationMs, null),
    };
  }
  if (result.kind === "rejected") {
    const errors = result.answer.errors.length
      ? result.answer.errors
      : [{ code: `PORTAL_${result.httpStatus}`, message: "the portal refused the submission" }];
    return {
      step: "rejected",
      row,
      patch: { ...counted, ...settledLease, status: "REJECTED", receipt: result.answer.receipt, errors, holdsMonth: false },
      delivery: record("rejected", result.httpStatus, result.durationMs, `HTTP_${result.httpStatus}`),
    };
  }
  if (result.kind === "conflict") {
    // The portal holds other content under this submission_id: this claim's content is not recorded.
    return {
      step: "conflict",
      row,
      patch: {
        ...counted,
        ...settledLease,
        status: "FAILED",
        failureCode: "PORTAL_CONFLICT",
        holdsMonth: false,
        errors: [{ code: "PORTAL_CONFLICT", message: "the portal holds a different payload under this submission_id (HTTP 409)" }],
      },
      delivery: record("conflict", 409, result.durationMs, "PORTAL_CONFLICT"),
    };
  }
  if (result.kind === "refused" || result.kind === "not_found") {
    // A refusal retrying cannot fix (403, 415, a 404 on submit, a redirect): fail now, tell an operator.
    // The month stays held only if an earlier attempt may have reached the portal.
    const status = result.httpStatus;
    return {
      step: "refused",
      row,
      patch: {
        ...counted,
        ...settledLease,
        status: "FAILED",
        failureCode: "PORTAL_REFUSED",
        holdsMonth: row.maybeRecorded,
        errors: [
          {
            code: "PORTAL_REFUSED",
            message: `the portal refused the submission with HTTP ${status}; not retried: a refusal such as a firewall rule or a wrong URL needs an operator`,
          },
        ],
      },
      delivery: record("failed", status, result.durationMs, `HTTP_${status}`),
      deadLetter: `the portal refused it with HTTP ${status}`,
      refusedStatus: status,
    };
  }

  // Retried: 429, 5xx, timeouts, network errors, a second 401, no token.
  const maybeRecorded = row.maybeRecorded || result.maybeRecorded;
  const lastError = { code: result.errorCode, message: `attempt ${attempt}: ${describe(result)}` };
  if (counted.cycleAttempts < DELIVERY_MAX_ATTEMPTS) {
    const q = requeue(retryDelaySeconds(counted.cycleAttempts, DELIVERY_BACKOFF_BASE_MS, result.retryAfterMs));
    return {
      step: "retry",
      row,
      patch: { ...counted, ...requeuePatch(q), maybeRecorded, errors: [{ ...lastError, message: `${lastError.message}; retrying` }] },
      delivery: record(attemptOutcome(result), result.httpStatus, result.durationMs, result.errorCode),
      requeue: q,
    };
  }
  const gaveUp = { code: result.errorCode, message: `delivery gave up after ${counted.cycleAttempts} attempts; last: ${describe(result)}` };
  if (maybeRecorded && settlement?.kind === "recorded") {
    // The portal has it after all (it answered the status read): the claim takes the portal's status.
    const s = settlement;
    return {
      step: s.status === "REJECTED" ? "rejected" : "delivered",
      row,
      patch: {
        ...counted,
        ...settledLease,
        status: s.status,
        receipt: s.receipt,
        errors: s.errors,
        holdsMonth: holdsMonth(s.status, true),
        maybeRecorded: true,
        polls: row.polls + 1,
        lastPolledAt: now,
        nextPollAt: s.status === "PENDING" ? nextPollAt(0, now) : null,
      },
      delivery: record(attemptOutcome(result), result.httpStatus, result.durationMs, result.errorCode),
      poll: {
        operation: "poll",
        attempt: row.polls + 1,
        outcome: pollOutcome(s.status),
        httpStatus: s.httpStatus,
        durationMs: s.durationMs,
        errorCode: null,
      },
    };
  }
  const unknownAtPortal = maybeRecorded && settlement?.kind === "unknown_at_portal";
  const holds = maybeRecorded && !unknownAtPortal;
  return {
    step: "failed",
    row,
    patch: {
      ...counted,
      ...settledLease,
      status: "FAILED",
      failureCode: "DELIVERY_FAILED",
      holdsMonth: holds,
      maybeRecorded: holds,
      errors: unknownAtPortal ? [gaveUp, NOT_AT_PORTAL] : [gaveUp],
      ...(settlement && settlement.kind !== "unsettled" ? { polls: row.polls + 1, lastPolledAt: now } : {}),
    },
    delivery: record("failed", result.httpStatus, result.durationMs, result.errorCode),
    poll: unknownAtPortal
      ? {
          operation: "poll",
          attempt: row.polls + 1,
          outcome: "failed",
          httpStatus: 404,
          durationMs: settlement.durationMs,
          errorCode: "NOT_AT_PORTAL",
        }
      : undefined,
    deadLetter: `gave up after ${counted.cycleAttempts} attempts: ${result.errorCode}${holds ? " (the portal may have recorded it: the month stays held)" : ""}`,
  };
}

export interface BatchReport {
  leased: number;
  steps: Record<DeliveryStep, number>;
  /** Where the batch's time went: the lease and body read, the portal's sends, the outcome writes. */
  ms?: { leaseMs: number; sendMs: number; writeMs: number };
}

/**
 * Delivers the claims of one consumer batch. Idempotent under duplicate and stale messages: a claim
 * is delivered only while it is QUEUED, holds the message's dispatch id and no live lease.
 *  1. One D1 batch leases every deliverable claim of the batch (one UPDATE … RETURNING) and reads
 *     their stored wire bodies.
 *  2. One call to the pacer reserves a send slot for each; they are sent in parallel within the pace
 *     (the stored bytes, MAX_CONNECTIONS at a time); claims without a slot are re-queued for later.
 *  3. Claims giving up after ambiguous attempts have their portal status read first.
 *  4. One D1 batch writes every outcome (each guarded by the lease), its delivery records, webhook
 *     outbox rows and the transaction log; then one queue send for the retries.
 * Throws when D1 fails: the caller releases the lease and lets the queue redeliver the messages.
 */
export async function deliverBatch(
  env: Env,
  db: Db,
  msgs: { claimId: string; dispatchId: string }[],
  lease: string = crypto.randomUUID(),
): Promise<BatchReport> {
  const steps: Record<DeliveryStep, number> = { skipped: 0, delivered: 0, rejected: 0, conflict: 0, refused: 0, retry: 0, failed: 0, paced: 0 };
  const unique = [...new Map(msgs.map((m) => [`${m.claimId}\u0000${m.dispatchId}`, [m.claimId, m.dispatchId]])).values()];
  if (!unique.length) return { leased: 0, steps };
  const now = Date.now();
  const pairs = JSON.stringify(unique);
  const [leasedRows, bodies] = await db.batch([
    db
      .update(claims)
      .set({ leaseOwner: lease, leaseUntil: now + leaseMs(env, unique.length) })
      .where(
        sql`${claims.status} = 'QUEUED' AND (${claims.leaseOwner} IS NULL OR ${claims.leaseUntil} <= ${now})
          AND (${claims.id}, ${claims.dispatchId}) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${pairs}))`,
      )
      .returning(),
    db
      .select({ claimId: claimSubmissions.claimId, wireBody: claimSubmissions.wireBody })
      .from(claimSubmissions)
      .where(sql`${claimSubmissions.claimId} IN (SELECT json_extract(value, '$[0]') FROM json_each(${pairs}))`),
  ]);
  steps.skipped = msgs.length - leasedRows.length;
  const wire = new Map(bodies.map((b) => [b.claimId, b.wireBody]));
  const rows = leasedRows.filter((r) => wire.has(r.id) && wire.get(r.id) !== "");
  if (rows.length < leasedRows.length) {
    // Cannot happen (row and body are written in one batch; purged bodies belong to settled claims): never send anything else.
    createLogger({ queue: QUEUES.claimsDelivery }).error("leased claims without a stored wire body", { count: leasedRows.length - rows.length });
  }
  if (!rows.length) return { leased: leasedRows.length, steps };

  const t1 = Date.now();
  const calls: UpstreamCallReport[] = [];
  const recorder: UpstreamCallRecorder = (r) => void calls.push(r);
  let results: PortalResult[];
  try {
    results = await submitMany(
      env,
      rows.map((r) => ({ claimId: r.id, wireBody: wire.get(r.id)!, attempt: r.attempts + 1, requestId: r.requestId })),
      { recorder, maxWaitMs: MAX_INLINE_WAIT_MS },
    );
  } catch {
    // The portal is not configured (503 CONFIG_INVALID): an attempt that could not be made.
    results = rows.map(() => ({
      kind: "retry",
      reason: "http",
      httpStatus: null,
      retryAfterMs: null,
      errorCode: "CONFIG_INVALID",
      durationMs: 0,
      maybeRecorded: false,
    }));
  }

  // Before giving up on a claim the portal may have recorded, ask the portal (CONTRACT §5).
  const { DELIVERY_MAX_ATTEMPTS } = getUpstreamConfig(env);
  const askFirst = rows
    .map((r, i) => ({ r, i, res: results[i] }))
    .filter(({ r, res }) => res.kind === "retry" && r.cycleAttempts + 1 >= DELIVERY_MAX_ATTEMPTS && (r.maybeRecorded || res.maybeRecorded));
  const settlements = new Map<number, Settlement>();
  if (askFirst.length) {
    try {
      const read = await pollMany(
        env,
        askFirst.map(({ r }) => ({ claimId: r.id, attempt: r.polls + 1, requestId: r.requestId })),
        { recorder, maxWaitMs: MAX_INLINE_WAIT_MS },
      );
      askFirst.forEach(({ i }, k) => settlements.set(i, settlementOf(read[k])));
    } catch {
      /* not configured: nothing settles */
    }
  }

  const t2 = Date.now();
  const at = new Date().toISOString();
  const changes = rows.map((r, i) => changeFor(env, r, results[i], settlements.get(i), Date.now()));
  const bulk = bulkChangeStatements(
    env,
    db,
    changes.map((c) => ({
      row: c.row,
      fromStatus: "QUEUED" as const,
      leaseOwner: lease,
      patch: c.patch,
      deliveries: [c.delivery, c.poll].filter((d) => !!d),
    })),
    at,
  );
  const statements = [...bulk.statements];
  if (calls.length) statements.push(upstreamCallsInsert(db, calls));
  const written = bulk.read((await db.batch(statements as unknown as [Statement])) as unknown[]);

  const requeues: { body: { type: "deliver"; claimId: string; dispatchId: string }; delaySeconds?: number }[] = [];
  const letters: { claimId: string; dispatchId: string; reason: string }[] = [];
  let refused: number | null = null;
  for (const c of changes) {
    if (!written.changed.has(c.row.id)) {
      steps.skipped++;
      continue;
    }
    steps[c.step]++;
    if (c.requeue) requeues.push(deliverMessage(c.row.id, c.requeue.dispatchId, c.requeue.delaySeconds || undefined));
    if (c.deadLetter) letters.push({ claimId: c.row.id, dispatchId: c.row.dispatchId ?? "", reason: c.deadLetter });
    if (c.refusedStatus) refused = c.refusedStatus;
  }
  const webhookIds = written.webhookIds;
  await enqueueClaims(env, requeues);
  if (webhookIds.length) await sendWebhooks(env, webhookIds);
  for (const l of letters) {
    try {
      await deadLetter(env, QUEUES.claimsDelivery, { type: "deliver", claimId: l.claimId, dispatchId: l.dispatchId }, l.reason);
    } catch {
      createLogger({ claimId: l.claimId }).error("dead letter not recorded");
    }
  }
  if (refused !== null) await alertRefusal(env, db, refused);
  return { leased: leasedRows.length, steps, ms: { leaseMs: t1 - now, sendMs: t2 - t1, writeMs: Date.now() - t2 } };
}

/** A portal refusal (403, 415, …) needs an operator: one alert an hour, however many claims it hits. */
async function alertRefusal(env: Env, db: Db, httpStatus: number) {
  try {
    await raiseAlert(env, db, {
      kind: "portal_refused",
      subject: "assam",
      value: httpStatus,
      threshold: 0,
      message: `assam: the portal refused claims with HTTP ${httpStatus} (not retried). Check the portal's firewall (IP whitelisting, seed 000 item 6), ASSAM_BASE_URL and the credentials; then replay the FAILED claims.`,
    });
  } catch (err) {
    createLogger({ job: "claims-delivery" }).error("alert not raised", { kind: err instanceof Error ? err.name : typeof err });
  }
}

export type PollStep = "skipped" | "unchanged" | "changed" | "paced" | "error";

/** The change one status read makes to a claim (the poll count always; a row in claim_deliveries only when something differs). */
function pollChange(row: ClaimRow, result: PortalResult, now: number) {
  const label: DeliveryOutcome =
    result.kind === "ok"
      ? pollOutcome(result.answer.status ?? "PENDING")
      : result.kind === "retry"
        ? result.reason === "timeout"
          ? "timeout"
          : result.reason === "network"
            ? "network"
            : "retry"
        : "failed";
  const to = result.kind === "ok" ? (result.answer.status ?? row.status) : row.status;
  // Never backwards (CONTRACT §5): a portal answer that would move the claim back changes nothing.
  const moves = to !== row.status && mayMove(row.status, to);
  const polls = row.polls + 1;
  const patch: TransitionSpec["patch"] = {
    polls,
    lastPolledAt: now,
    lastPollOutcome: label,
    nextPollAt: (moves ? to : row.status) === "PENDING" ? nextPollAt(polls, now) : null,
  };
  if (moves && result.kind === "ok") {
    Object.assign(patch, {
      status: to,
      receipt: result.answer.receipt ?? row.receipt,
      errors: to === "REJECTED" ? result.answer.errors : [],
      holdsMonth: holdsMonth(to, true),
    });
  }
  const httpStatus = "httpStatus" in result ? result.httpStatus : null;
  const durationMs = "durationMs" in result ? result.durationMs : 0;
  const errorCode = result.kind === "ok" ? null : result.kind === "retry" ? result.errorCode : `HTTP_${httpStatus}`;
  const delivery =
    moves || label !== row.lastPollOutcome
      ? { operation: "poll" as const, attempt: polls, outcome: label, httpStatus, durationMs, errorCode }
      : undefined;
  return { patch, delivery, moves };
}

/**
 * Reads the portal's status of claims in `from` statuses and records what changed: the status (only
 * forwards), the poll count and next poll time, and a poll row when the outcome differs from the last
 * one. `maxWaitMs` bounds the wait for the polls' pace; claims without a slot answer `paced`.
 */
export async function pollClaims(
  env: Env,
  db: Db,
  rows: ClaimRow[],
  opts: { from: ClaimStatus[]; maxWaitMs: number; requestId?: string; recorder?: UpstreamCallRecorder },
): Promise<{ step: PollStep; row: ClaimRow; result?: PortalResult }[]> {
  const todo = rows.filter((r) => opts.from.includes(r.status));
  const calls: UpstreamCallReport[] = [];
  const recorder: UpstreamCallRecorder = opts.recorder ?? ((r) => void calls.push(r));
  const results = await pollMany(
    env,
    todo.map((r) => ({ claimId: r.id, attempt: r.polls + 1, requestId: opts.requestId ?? r.requestId })),
    { recorder, maxWaitMs: opts.maxWaitMs },
  );
  const at = new Date().toISOString();
  const planned = todo.map((row, k) => ({
    row,
    result: results[k],
    change: results[k].kind === "paced" ? null : pollChange(row, results[k], Date.now()),
  }));
  const bulk = bulkChangeStatements(
    env,
    db,
    planned
      .filter((p) => p.change)
      .map((p) => ({ row: p.row, fromStatus: p.row.status, patch: p.change!.patch, deliveries: p.change!.delivery ? [p.change!.delivery] : [] })),
    at,
  );
  const statements = [...bulk.statements];
  if (calls.length) statements.push(upstreamCallsInsert(db, calls));
  const written = planned.some((p) => p.change) ? bulk.read((await db.batch(statements as unknown as [Statement])) as unknown[]) : null;
  const out = rows.map((row) => ({ step: "skipped" as PollStep, row }) as { step: PollStep; row: ClaimRow; result?: PortalResult });
  for (const p of planned) {
    const i = rows.indexOf(p.row);
    if (!p.change) out[i] = { step: "paced", row: p.row, result: p.result };
    else if (written?.changed.has(p.row.id))
      out[i] = {
        step: p.result.kind !== "ok" ? "error" : p.change.moves ? "changed" : "unchanged",
        row: written.next.get(p.row.id)!,
        result: p.result,
      };
  }
  const webhookIds = written?.webhookIds ?? [];
  if (webhookIds.length) await sendWebhooks(env, webhookIds);
  return out;
}

/** One claim's status read (a caller's refresh, or a test). `target`: its id, or the row just read. */
export async function pollClaim(
  env: Env,
  db: Db,
  target: string | ClaimRow,
  opts: { from: ClaimStatus[]; maxWaitMs: number; requestId?: string; recorder?: UpstreamCallRecorder },
): Promise<{ step: PollStep; row: ClaimRow | null; result?: PortalResult }> {
  const row = typeof target === "string" ? await db.select().from(claims).where(sql`${claims.id} = ${target}`).get() : target;
  if (!row) return { step: "skipped", row: null };
  return (await pollClaims(env, db, [row], opts))[0];
}

/** The sweep's poll messages, a consumer batch at a time: one read, one pacer call, one write. */
export async function pollBatch(env: Env, db: Db, claimIds: string[]): Promise<{ paced: { claimId: string; waitMs: number }[] }> {
  const ids = JSON.stringify([...new Set(claimIds)]);
  const rows = await db.select().from(claims).where(sql`${claims.id} IN (SELECT value FROM json_each(${ids}))`).all();
  let out: Awaited<ReturnType<typeof pollClaims>>;
  try {
    out = await pollClaims(env, db, rows, { from: ["PENDING"], maxWaitMs: MAX_INLINE_WAIT_MS });
  } catch {
    // Not configured: the next sweep asks again.
    return { paced: [] };
  }
  return {
    paced: out
      .filter((o) => o.step === "paced" && o.result?.kind === "paced")
      .map((o) => ({ claimId: o.row.id, waitMs: (o.result as { waitMs: number }).waitMs })),
  };
}
