import { and, eq, sql } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../storage/schema/fiscal-outbox";
import { auditInsertWhere } from "../../storage/audit";
import { GatewayError } from "../../errors";
import { enqueueDelivery } from "../../domain/fiscal/messages";
import { replayClaimWebhooks, replayFailedClaim } from "../../domain/claims/replay";
import { locatePi } from "../../domain/funds/payment-instructions";

/** What a replay changed on its subject: its status before and after. */
export interface ReplayOutcome {
  before: string;
  after: string;
}

/**
 * Claims: the claims area's own rules. A delivery dead letter replays the claim (FAILED → QUEUED with
 * the same bytes; a portal 409 is refused); a webhook dead letter (`kind` "claim-webhook") re-sends
 * the claim's failed notifications and leaves the claim alone.
 */
export async function replayClaim(env: Env, db: Db, claimId: string, actor: string, requestId: string | null, kind?: string): Promise<ReplayOutcome> {
  if (kind === "claim-webhook") {
    const n = await replayClaimWebhooks(env, db, claimId, actor, requestId);
    return { before: "webhook FAILED", after: `webhook PENDING (${n} notification${n === 1 ? "" : "s"} owed again)` };
  }
  await replayFailedClaim(env, db, claimId, actor, requestId);
  return { before: "FAILED", after: "QUEUED" };
}

/**
 * Fiscal messages whose delivery FAILED (attempts exhausted) go out again; each send signs afresh
 * (same message_id and content, new message_ts). A message iFIX REJECTED (4xx) is refused: sending it
 * again cannot succeed; one still QUEUED or DELIVERED too: replaying it could send it twice.
 * - A payment instruction's disburse lives in its account's object: the object re-queues it (not when
 *   the PI is FAILED: nothing to pay) and audits the replay in the same transaction.
 * - Others: back to QUEUED with a fresh outbox row (attempt 0), in one D1 batch whose outbox row and
 *   audit row come before the change under its own guard, so they are written exactly when it
 *   applies: a replay that did not happen (the message changed meanwhile, a concurrent replay won)
 *   leaves no audit row claiming it did.
 */
export async function replayFiscalMessage(env: Env, db: Db, messageId: string, actor: string, requestId: string | null): Promise<ReplayOutcome> {
  const msg = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, messageId)).get();
  if (!msg) throw new GatewayError("NOT_FOUND", "the dead letter's fiscal message no longer exists");
  if (msg.deliveryStatus === "REJECTED") {
    throw new GatewayError("INVALID_STATE", "iFIX rejected this message (4xx): sending it again cannot succeed", {
      details: [{ path: "deliveryStatus", message: msg.deliveryStatus }],
    });
  }
  if (msg.deliveryStatus !== "FAILED") {
    throw new GatewayError("INVALID_STATE", `the fiscal message is ${msg.deliveryStatus}, not FAILED: replaying it could send it twice`, {
      details: [{ path: "deliveryStatus", message: msg.deliveryStatus }],
    });
  }
  if (msg.piId && msg.wireBody === "held-by-account") {
    const at = await locatePi(env, db, msg.piId);
    if (!at) throw new GatewayError("NOT_FOUND", "the disburse's payment instruction no longer exists");
    const r = await at.stub.replayDelivery(messageId, { actor, requestId });
    if (!r.ok) throw new GatewayError("INVALID_STATE", r.why, { details: [{ path: "deliveryStatus", message: r.state ?? "unknown" }] });
    const now = new Date().toISOString();
    await db
      .update(fiscalMessages)
      .set({ deliveryStatus: "QUEUED", lastError: null, updatedAt: now })
      .where(and(eq(fiscalMessages.id, messageId), eq(fiscalMessages.deliveryStatus, "FAILED")))
      .run();
    return { before: `delivery FAILED (${msg.status})`, after: "delivery QUEUED (in its account's outbox)" };
  }
  const now = new Date().toISOString();
  const nextStatus = msg.status === "FAILED" ? "QUEUED" : msg.status;
  // The change's guard, checked by the statements placed before it in the same batch: they apply
  // exactly when it does. (A post-condition such as "QUEUED at this updatedAt" was also met by a
  // concurrent replay that lost the race within the same millisecond: both wrote an audit row.)
  const guard = and(eq(fiscalMessages.id, messageId), eq(fiscalMessages.deliveryStatus, "FAILED"));
  const replayable = sql`EXISTS (SELECT 1 FROM ${fiscalMessages} WHERE ${guard})`;
  const results = await db.batch([
    db
      .insert(fiscalOutbox)
      .select(
        db
          .select({
            messageId: sql`${messageId}`.as("message_id"),
            attempt: sql`0`.as("attempt"),
            leaseUntil: sql`NULL`.as("lease_until"),
            createdAt: sql`${Date.now()}`.as("created_at"),
          })
          .from(sql`(SELECT 1)`)
          .where(replayable),
      )
      .onConflictDoNothing(),
    auditInsertWhere(
      db,
      {
        actor,
        action: "fiscal.replay",
        targetType: "fiscal_message",
        targetId: messageId,
        before: { deliveryStatus: msg.deliveryStatus, status: msg.status, attempts: msg.attempts },
        after: { deliveryStatus: "QUEUED", status: nextStatus },
        requestId,
      },
      replayable,
    ),
    db
      .update(fiscalMessages)
      .set({ deliveryStatus: "QUEUED", status: nextStatus, lastError: null, updatedAt: now })
      .where(guard)
      .returning({ id: fiscalMessages.id }),
  ]);
  if ((results[2] as unknown[]).length === 0) throw new GatewayError("INVALID_STATE", "the fiscal message changed meanwhile: not replayed");
  // Attempt 0: the outbox row just written. Should the send fail, the fiscal sweep re-sends the unleased row.
  const outbox = await db.select().from(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)).get();
  await enqueueDelivery(env, db, messageId, outbox?.attempt ?? 0);
  return { before: `delivery FAILED (${msg.status})`, after: `delivery QUEUED (${nextStatus})` };
}
