import { and, eq, isNull, lte, or } from "drizzle-orm";
import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import type { Db } from "../../storage/db";
import { claims, type ClaimStatus } from "../../storage/schema/claims";
import { claimSubmissions } from "../../storage/schema/claim-submissions";
import { claimDeliveries, type DeliveryOutcome } from "../../storage/schema/claim-deliveries";
import { submitToPortal, pollPortal, type PortalResult } from "../../adapters/assam/client";
import { deadLetter } from "../../queues/dead-letters.consumer";
import { QUEUES } from "../../queues/names";
import { createLogger } from "../../lib/logger";
import { retryDelaySeconds, toDelaySeconds } from "./backoff";
import { ENQUEUE_GRACE_MS, transition, type ClaimRow } from "./ledger";
import { deliverMessage } from "./messages";
import { enqueue } from "./submit";

/** A consumer waits inline for a send slot up to this long; beyond it the message is re-queued with a delay. */
export const MAX_INLINE_WAIT_MS = 10_000;

export type DeliveryStep = "skipped" | "delivered" | "rejected" | "conflict" | "retry" | "failed" | "paced";

// Long enough for a token fetch, two paced requests (the 401 renewal) and their timeouts.
const leaseMs = (env: Env) => Math.max(180_000, getUpstreamConfig(env).UPSTREAM_TIMEOUT_MS * 4 + MAX_INLINE_WAIT_MS + 90_000);

/** Moves a QUEUED claim back to "waiting for its next message", with a fresh dispatch id. */
async function requeue(env: Env, db: Db, row: ClaimRow, leaseOwner: string, delaySeconds: number, patch: Partial<ClaimRow>, delivery?: Parameters<typeof transition>[2]["delivery"]) {
  const dispatchId = crypto.randomUUID();
  const now = Date.now();
  const t = await transition(env, db, {
    row,
    fromStatus: "QUEUED",
    leaseOwner,
    patch: { ...patch, dispatchId, leaseOwner: null, leaseUntil: now + delaySeconds * 1000 + ENQUEUE_GRACE_MS, nextAttemptAt: now + delaySeconds * 1000 },
    delivery,
  });
  if (t.applied) await enqueue(env, [deliverMessage(row.id, dispatchId, delaySeconds || undefined)]);
}

/**
 * Delivers one claim for one queue message. Idempotent under duplicate and stale messages: it acts
 * only while the claim is QUEUED, holds this message's dispatch id and no live lease, and takes the
 * lease with one conditional UPDATE. The portal call uses the stored bytes.
 */
export async function deliverClaim(env: Env, db: Db, msg: { claimId: string; dispatchId: string }): Promise<DeliveryStep> {
  const now = Date.now();
  const lease = crypto.randomUUID();
  const taken = await db
    .update(claims)
    .set({ leaseOwner: lease, leaseUntil: now + leaseMs(env) })
    .where(
      and(
        eq(claims.id, msg.claimId),
        eq(claims.status, "QUEUED"),
        eq(claims.dispatchId, msg.dispatchId),
        or(isNull(claims.leaseOwner), lte(claims.leaseUntil, now)),
      ),
    )
    .returning()
    .get();
  if (!taken) return "skipped";
  const wire = await db.select().from(claimSubmissions).where(eq(claimSubmissions.claimId, taken.id)).get();
  const log = createLogger({ claimId: taken.id });
  if (!wire) {
    // Cannot happen (row and body are written in one batch); never send anything else.
    log.error("claim has no stored wire body");
    return "skipped";
  }
  const attempt = taken.attempts + 1;
  const { DELIVERY_MAX_ATTEMPTS, DELIVERY_BACKOFF_BASE_MS } = getUpstreamConfig(env);
  let result: PortalResult;
  try {
    result = await submitToPortal(env, wire.wireBody, { db, claimId: taken.id, attempt, maxWaitMs: MAX_INLINE_WAIT_MS });
  } catch (err) {
    // Configuration missing or malformed (503 CONFIG_INVALID): an attempt that could not be made.
    result = { kind: "retry", reason: "http", httpStatus: null, retryAfterMs: null, errorCode: "CONFIG_INVALID", durationMs: 0 };
    log.warn("delivery could not start", { kind: err instanceof Error ? err.name : typeof err });
  }

  if (result.kind === "paced") {
    await requeue(env, db, taken, lease, toDelaySeconds(result.waitMs), {});
    return "paced";
  }
  const counted = { attempts: attempt, cycleAttempts: taken.cycleAttempts + 1 };
  const record = (outcome: DeliveryOutcome, httpStatus: number | null, durationMs: number, errorCode: string | null) => ({
    operation: "submit" as const,
    attempt,
    outcome,
    httpStatus,
    durationMs,
    errorCode,
  });
  const settled = { leaseOwner: null, leaseUntil: null, nextAttemptAt: null, dispatchId: null };

  if (result.kind === "ok") {
    const status: ClaimStatus = result.answer.status ?? "PENDING";
    await transition(env, db, {
      row: taken,
      fromStatus: "QUEUED",
      leaseOwner: lease,
      patch: { ...counted, ...settled, status, receipt: result.answer.receipt, errors: status === "REJECTED" ? result.answer.errors : [], lastPolledAt: Date.now() },
      delivery: record(pollOutcome(status), result.httpStatus, result.durationMs, null),
    });
    return status === "REJECTED" ? "rejected" : "delivered";
  }
  if (result.kind === "rejected") {
    const errors = result.answer.errors.length ? result.answer.errors : [{ code: `PORTAL_${result.httpStatus}`, message: "the portal refused the submission" }];
    await transition(env, db, {
      row: taken,
      fromStatus: "QUEUED",
      leaseOwner: lease,
      patch: { ...counted, ...settled, status: "REJECTED", receipt: result.answer.receipt, errors },
      delivery: record("rejected", result.httpStatus, result.durationMs, `HTTP_${result.httpStatus}`),
    });
    return "rejected";
  }
  if (result.kind === "conflict") {
    await transition(env, db, {
      row: taken,
      fromStatus: "QUEUED",
      leaseOwner: lease,
      patch: {
        ...counted,
        ...settled,
        status: "FAILED",
        failureCode: "PORTAL_CONFLICT",
        errors: [{ code: "PORTAL_CONFLICT", message: "the portal holds a different payload under this submission_id (HTTP 409)" }],
      },
      delivery: record("conflict", 409, result.durationMs, "PORTAL_CONFLICT"),
    });
    return "conflict";
  }

  // Everything else is retried: 429, 5xx, timeouts, network errors, a second 401, an unexpected 404.
  const r =
    result.kind === "not_found"
      ? { httpStatus: 404, errorCode: "UPSTREAM_HTTP_404", retryAfterMs: null, durationMs: result.durationMs, reason: "http" as const }
      : result;
  const outcome: DeliveryOutcome = r.reason === "timeout" ? "timeout" : r.reason === "network" ? "network" : r.reason === "unauthorized" ? "unauthorized" : "retry";
  if (counted.cycleAttempts >= DELIVERY_MAX_ATTEMPTS) {
    const t = await transition(env, db, {
      row: taken,
      fromStatus: "QUEUED",
      leaseOwner: lease,
      patch: {
        ...counted,
        ...settled,
        status: "FAILED",
        failureCode: "DELIVERY_FAILED",
        errors: [{ code: r.errorCode, message: `delivery gave up after ${counted.cycleAttempts} attempts; last: ${describe(r)}` }],
      },
      delivery: record("failed", r.httpStatus, r.durationMs, r.errorCode),
    });
    if (t.applied) {
      await deadLetter(env, QUEUES.claimsDelivery, { type: "deliver", claimId: taken.id, dispatchId: msg.dispatchId }, `gave up after ${counted.cycleAttempts} attempts: ${r.errorCode}`);
    }
    return "failed";
  }
  const delaySeconds = retryDelaySeconds(counted.cycleAttempts, DELIVERY_BACKOFF_BASE_MS, r.retryAfterMs);
  await requeue(env, db, taken, lease, delaySeconds, { ...counted, errors: [{ code: r.errorCode, message: `attempt ${attempt}: ${describe(r)}; retrying` }] }, record(outcome, r.httpStatus, r.durationMs, r.errorCode));
  return "retry";
}

function describe(r: { reason: string; httpStatus: number | null }): string {
  if (r.reason === "timeout") return "the portal did not answer in time";
  if (r.reason === "network") return "network error";
  if (r.reason === "token") return "no token from the portal";
  return `the portal answered HTTP ${r.httpStatus ?? "?"}`;
}

export type PollStep = "skipped" | "unchanged" | "changed" | "paced" | "error";

/**
 * Reads the portal's status of a claim and records a change (PENDING → ACCEPTED/REJECTED, or an
 * ACCEPTED claim the portal later rejects). `from` lists the statuses a poll may start from.
 */
export async function pollClaim(
  env: Env,
  db: Db,
  /** The claim's id, or its row when the caller has just read it (saves reading it again). */
  target: string | ClaimRow,
  opts: { from: ClaimStatus[]; maxWaitMs: number; requestId?: string },
): Promise<{ step: PollStep; row: ClaimRow | null; result?: PortalResult }> {
  const row = typeof target === "string" ? await db.select().from(claims).where(eq(claims.id, target)).get() : target;
  if (!row || !opts.from.includes(row.status)) return { step: "skipped", row: row ?? null };
  const result = await pollPortal(env, { db, claimId: row.id, attempt: row.polls + 1, maxWaitMs: opts.maxWaitMs, requestId: opts.requestId });
  if (result.kind === "paced") return { step: "paced", row, result };
  const now = Date.now();
  const seen = { polls: row.polls + 1, lastPolledAt: now };
  if (result.kind === "ok" && result.answer.status && result.answer.status !== row.status) {
    const status = result.answer.status;
    const t = await transition(env, db, {
      row,
      fromStatus: row.status,
      patch: { ...seen, status, receipt: result.answer.receipt ?? row.receipt, errors: status === "REJECTED" ? result.answer.errors : [] },
      delivery: { operation: "poll", attempt: seen.polls, outcome: pollOutcome(status), httpStatus: result.httpStatus, durationMs: result.durationMs, errorCode: null },
    });
    return { step: t.applied ? "changed" : "skipped", row: t.row, result };
  }
  const durationMs = "durationMs" in result ? result.durationMs : 0;
  const httpStatus = "httpStatus" in result ? result.httpStatus : null;
  await db.batch([
    db.update(claims).set(seen).where(eq(claims.id, row.id)),
    db.insert(claimDeliveries).values({
      claimId: row.id,
      operation: "poll",
      attempt: seen.polls,
      at: new Date(now).toISOString(),
      outcome: result.kind === "ok" ? pollOutcome(result.answer.status ?? "PENDING") : result.kind === "retry" ? (result.reason === "timeout" ? "timeout" : result.reason === "network" ? "network" : "retry") : "failed",
      httpStatus,
      durationMs,
      errorCode: result.kind === "ok" ? null : "errorCode" in result ? result.errorCode : `HTTP_${httpStatus}`,
    }),
  ]);
  return { step: result.kind === "ok" ? "unchanged" : "error", row: { ...row, ...seen }, result };
}

const pollOutcome = (s: ClaimStatus): DeliveryOutcome => (s === "ACCEPTED" ? "accepted" : s === "REJECTED" ? "rejected" : "pending");
