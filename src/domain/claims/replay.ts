import { and, eq, sql } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { claimWebhooks } from "../../storage/schema/claim-webhooks";
import { auditInsertWhere } from "../../storage/audit";
import { GatewayError } from "../../errors";
import { ENQUEUE_GRACE_MS, transition, type ClaimRow } from "./ledger";
import { deliverMessage } from "./messages";
import { enqueueClaims, sendWebhooks } from "./outbox";

const isUniqueViolation = (err: unknown) =>
  /UNIQUE constraint failed/i.test(
    String((err as { message?: unknown })?.message ?? err) + String((err as { cause?: { message?: unknown } })?.cause?.message ?? ""),
  );

/**
 * The replay rule (CONTRACT §5), shared by POST /v1/admin/claims/{id}/replay and the console's
 * dead-letter replay: only a FAILED claim goes back to QUEUED, with the same stored wire bytes; a
 * claim the portal refused with 409 answers PORTAL_CONFLICT (the same bytes cannot succeed); a claim
 * whose personal data the retention sweep removed has no bytes left to send; a month that another
 * claim holds meanwhile answers DUPLICATE_PERIOD_CLAIM (the replayed claim takes its month back, under
 * the same unique index as every claim). Audited in the same D1 batch as the change.
 */
export async function replayFailedClaim(env: Env, db: Db, claimId: string, actor: string, requestId: string | null): Promise<ClaimRow> {
  const row = await db.select().from(claims).where(eq(claims.id, claimId.toLowerCase())).get();
  if (!row) throw new GatewayError("NOT_FOUND", "claim not found");
  if (row.status !== "FAILED") {
    throw new GatewayError("INVALID_STATE", `a ${row.status} claim is not replayed (only FAILED ones): it could be sent twice`, {
      details: [{ path: "status", message: row.status }],
    });
  }
  if (row.failureCode === "PORTAL_CONFLICT") {
    throw new GatewayError(
      "PORTAL_CONFLICT",
      "the portal holds a different payload under this submission_id; replaying the same bytes cannot succeed",
    );
  }
  if (row.purgedAt) {
    throw new GatewayError("INVALID_STATE", "this claim's stored submission was removed by the retention sweep: submit a new claim instead", {
      details: [{ path: "purgedAt", message: row.purgedAt }],
    });
  }
  const dispatchId = crypto.randomUUID();
  let t;
  try {
    t = await transition(env, db, {
      row,
      fromStatus: "FAILED",
      patch: {
        status: "QUEUED",
        errors: [],
        failureCode: null,
        cycleAttempts: 0,
        holdsMonth: true,
        dispatchId,
        leaseOwner: null,
        leaseUntil: Date.now() + ENQUEUE_GRACE_MS,
        nextAttemptAt: null,
      },
      audit: {
        actor,
        action: "claim.replay",
        targetType: "claim",
        targetId: row.id,
        before: { status: row.status, failureCode: row.failureCode, attempts: row.attempts, errors: row.errors },
        after: { status: "QUEUED" },
        requestId,
      },
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // The partial unique index (one claim holding each ASHA's month) refused: another claim holds it.
    throw new GatewayError("DUPLICATE_PERIOD_CLAIM", "another claim holds this ASHA's month", {
      details: [{ path: "period", message: "held by another claim" }],
    });
  }
  if (!t.applied) throw new GatewayError("INVALID_STATE", "the claim changed meanwhile; read it again");
  await enqueueClaims(env, [deliverMessage(row.id, dispatchId)]);
  return t.row;
}

/**
 * Replaying a claim webhook's dead letter re-sends the notification, not the claim (issue 15 item 4):
 * every FAILED outbox row of the claim goes back to PENDING with its attempts reset and is handed to
 * the WEBHOOKS queue (the same payload, so receivers deduplicate on its `webhook-id`). Audited.
 * Answers how many notifications are owed again; none FAILED → 409 INVALID_STATE.
 */
export async function replayClaimWebhooks(env: Env, db: Db, claimId: string, actor: string, requestId: string | null): Promise<number> {
  // The claim's failed notifications: read, audited and re-queued under this one condition.
  const owed = and(eq(claimWebhooks.claimId, claimId), eq(claimWebhooks.state, "FAILED"));
  const failed = await db
    .select({ id: claimWebhooks.id, claimStatus: claimWebhooks.claimStatus, attempts: claimWebhooks.attempts })
    .from(claimWebhooks)
    .where(owed)
    .all();
  if (!failed.length) throw new GatewayError("INVALID_STATE", "no failed notification of this claim is owed: nothing is re-sent");
  const results = await db.batch([
    // Before the change, under its guard: audited exactly when something is re-sent (a concurrent
    // replay that took them first leaves this one nothing, and no audit row).
    auditInsertWhere(
      db,
      {
        actor,
        action: "claim.webhook.replay",
        targetType: "claim",
        targetId: claimId,
        before: { webhooks: failed.map((w) => ({ id: w.id, status: w.claimStatus, state: "FAILED", attempts: w.attempts })) },
        after: { state: "PENDING" },
        requestId,
      },
      sql`EXISTS (SELECT 1 FROM ${claimWebhooks} WHERE ${owed})`,
    ),
    db
      .update(claimWebhooks)
      .set({ state: "PENDING", attempts: 0, nextAttemptAt: Date.now() + ENQUEUE_GRACE_MS, lastError: null })
      .where(owed)
      .returning({ id: claimWebhooks.id }),
  ]);
  const ids = (results[1] as { id: string }[]).map((r) => r.id);
  if (!ids.length) throw new GatewayError("INVALID_STATE", "the notifications changed meanwhile: nothing is re-sent");
  await sendWebhooks(env, ids);
  return ids.length;
}
