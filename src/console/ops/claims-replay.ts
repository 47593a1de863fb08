import { and, eq, ne, notInArray } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { auditInsert } from "../../storage/audit";
import { ApiError } from "../../http/errors";
import { ENQUEUE_GRACE_MS, transition } from "../../domain/claims/ledger";
import { deliverMessage } from "../../domain/claims/messages";
import { enqueue, LIVE_EXCLUDED } from "../../domain/claims/submit";
import type { ReplayOutcome } from "./replayers";

/**
 * The claims area's replay rule, as POST /v1/admin/claims/{claimId}/replay applies it (its handler
 * keeps the rule inline in src/http/routes/claims/replay.ts, with no domain function to call, so the
 * same steps are taken here with the claims ledger's own building blocks): only a FAILED claim; a
 * portal 409 is refused with PORTAL_CONFLICT; a month that has a live corrected claim is refused with
 * DUPLICATE_PERIOD_CLAIM; the claim goes back to QUEUED through the ledger's guarded `transition`
 * (webhook outbox included) and its stored wire bytes are handed to the delivery queue again.
 */
export async function replayClaimThroughClaimsArea(env: Env, db: Db, claimId: string, actor: string, requestId: string | null): Promise<ReplayOutcome> {
  const row = await db.select().from(claims).where(eq(claims.id, claimId.toLowerCase())).get();
  if (!row) throw new ApiError("NOT_FOUND", "the dead letter's claim no longer exists");
  if (row.status !== "FAILED") {
    throw new ApiError("INVALID_STATE", `the claim is ${row.status}, not FAILED: replaying it could send it twice`, {
      details: [{ path: "status", message: row.status }],
    });
  }
  if (row.failureCode === "PORTAL_CONFLICT") {
    throw new ApiError("PORTAL_CONFLICT", "the portal holds a different payload under this submission_id; replaying the same bytes cannot succeed");
  }
  const live = await db
    .select({ id: claims.id })
    .from(claims)
    .where(and(eq(claims.ashaId, row.ashaId), eq(claims.period, row.period), ne(claims.id, row.id), notInArray(claims.status, [...LIVE_EXCLUDED])))
    .get();
  if (live) throw new ApiError("DUPLICATE_PERIOD_CLAIM", "another live claim exists for this ASHA and month", { details: [{ path: "period", claimId: live.id }] });
  const dispatchId = crypto.randomUUID();
  let t;
  try {
    t = await transition(env, db, {
      row,
      fromStatus: "FAILED",
      patch: { status: "QUEUED", errors: [], failureCode: null, cycleAttempts: 0, dispatchId, leaseOwner: null, leaseUntil: Date.now() + ENQUEUE_GRACE_MS, nextAttemptAt: null },
      extra: [
        auditInsert(db, {
          actor,
          action: "claim.replay",
          targetType: "claim",
          targetId: row.id,
          before: { status: row.status, failureCode: row.failureCode, attempts: row.attempts, errors: row.errors },
          after: { status: "QUEUED" },
          requestId,
        }),
      ],
    });
  } catch {
    // The partial unique index (one live claim per ASHA and month) refused the change.
    throw new ApiError("DUPLICATE_PERIOD_CLAIM", "another live claim exists for this ASHA and month");
  }
  if (!t.applied) throw new ApiError("INVALID_STATE", "the claim changed meanwhile: not replayed");
  await enqueue(env, [deliverMessage(row.id, dispatchId)]);
  return { before: "FAILED", after: "QUEUED" };
}
