import { and, eq, ne, notInArray } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { auditInsert } from "../../storage/audit";
import { GatewayError } from "../../errors";
import { ENQUEUE_GRACE_MS, transition } from "./ledger";
import { deliverMessage } from "./messages";
import { enqueue, LIVE_EXCLUDED } from "./submit";

/**
 * The replay rule (CONTRACT §5), shared by POST /v1/admin/claims/{id}/replay and the console's
 * dead-letter replay: only a FAILED claim goes back to QUEUED, with the same stored wire bytes; a
 * claim the portal refused with 409 answers PORTAL_CONFLICT (the same bytes cannot succeed); a
 * month that has a live corrected claim meanwhile answers DUPLICATE_PERIOD_CLAIM. Audited in the
 * same D1 batch as the change.
 */
export async function replayFailedClaim(env: Env, db: Db, claimId: string, actor: string, requestId: string | null) {
  const row = await db.select().from(claims).where(eq(claims.id, claimId.toLowerCase())).get();
  if (!row) throw new GatewayError("NOT_FOUND", "claim not found");
  if (row.status !== "FAILED") {
    throw new GatewayError("INVALID_STATE", `a ${row.status} claim is not replayed (only FAILED ones): it could be sent twice`, {
      details: [{ path: "status", message: row.status }],
    });
  }
  if (row.failureCode === "PORTAL_CONFLICT") {
    throw new GatewayError("PORTAL_CONFLICT", "the portal holds a different payload under this submission_id; replaying the same bytes cannot succeed");
  }
  const live = await db
    .select({ id: claims.id })
    .from(claims)
    .where(and(eq(claims.ashaId, row.ashaId), eq(claims.period, row.period), ne(claims.id, row.id), notInArray(claims.status, [...LIVE_EXCLUDED])))
    .get();
  if (live) throw new GatewayError("DUPLICATE_PERIOD_CLAIM", "another live claim exists for this ASHA and month", { details: [{ path: "period", claimId: live.id }] });
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
    throw new GatewayError("DUPLICATE_PERIOD_CLAIM", "another live claim exists for this ASHA and month");
  }
  if (!t.applied) throw new GatewayError("INVALID_STATE", "the claim changed meanwhile; read it again");
  await enqueue(env, [deliverMessage(row.id, dispatchId)]);
  return t.row;
}
