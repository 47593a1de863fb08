import { eq } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { auditInsert } from "../../storage/audit";
import { ApiError } from "../../http/errors";
import { ENQUEUE_GRACE_MS, transition } from "../../domain/claims/ledger";
import { deliverMessage } from "../../domain/claims/messages";
import type { ReplayOutcome } from "./replayers";

/**
 * The claims area's replay rule (CONTRACT §5, POST /v1/admin/claims/{id}/replay): a FAILED claim goes
 * back to QUEUED and its stored wire body is delivered again; a claim that failed on the portal's 409
 * is refused with PORTAL_CONFLICT; any other status is refused (nothing to replay, or it would be
 * sent twice). Built on the claims ledger's own guarded `transition` and queue message.
 */
export async function replayClaimThroughClaimsArea(env: Env, db: Db, claimId: string, actor: string, requestId: string | null): Promise<ReplayOutcome> {
  const row = await db.select().from(claims).where(eq(claims.id, claimId)).get();
  if (!row) throw new ApiError("NOT_FOUND", "the dead letter's claim no longer exists");
  if (row.status !== "FAILED") {
    throw new ApiError("INVALID_STATE", `the claim is ${row.status}, not FAILED: replaying it could send it twice`, {
      details: [{ path: "status", message: row.status }],
    });
  }
  if (row.failureCode === "PORTAL_CONFLICT") {
    throw new ApiError("PORTAL_CONFLICT", "the portal answered 409 for this claim: it is never re-sent");
  }
  const dispatchId = crypto.randomUUID();
  const result = await transition(env, db, {
    row,
    fromStatus: "FAILED",
    patch: { status: "QUEUED", failureCode: null, cycleAttempts: 0, dispatchId, leaseOwner: null, leaseUntil: Date.now() + ENQUEUE_GRACE_MS, nextAttemptAt: null },
    extra: [
      auditInsert(db, {
        actor,
        action: "claim.replay",
        targetType: "claim",
        targetId: claimId,
        before: { status: row.status, attempts: row.attempts, failureCode: row.failureCode },
        after: { status: "QUEUED" },
        requestId,
      }),
    ],
  });
  if (!result.applied) throw new ApiError("INVALID_STATE", "the claim changed meanwhile: not replayed");
  const msg = deliverMessage(claimId, dispatchId);
  try {
    await env.CLAIMS_DELIVERY.send(msg.body);
  } catch {
    /* the claims sweep re-queues a QUEUED claim whose lease has expired */
  }
  return { before: "FAILED", after: "QUEUED" };
}
