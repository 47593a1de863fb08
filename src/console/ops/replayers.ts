import { and, eq } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../storage/schema/fiscal-outbox";
import { auditInsert } from "../../storage/audit";
import { GatewayError } from "../../http/errors";
import { enqueueDelivery } from "../../domain/fiscal/messages";
import { replayClaimWebhooks, replayFailedClaim } from "../../domain/claims/replay";

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
 * Fiscal messages. The fiscal area has no replay of its own, so it is done here following its tables:
 * a message whose delivery FAILED goes back to QUEUED with a fresh outbox row (attempt 0) and the
 * stored signed bytes are handed to the delivery queue again (its consumer claims the attempt from
 * the outbox, so a duplicate send claims nothing). A message iFIX REJECTED (4xx) is refused: the same
 * bytes cannot succeed. A message still QUEUED or DELIVERED is refused: replaying could duplicate it.
 */
export async function replayFiscalMessage(env: Env, db: Db, messageId: string, actor: string, requestId: string | null): Promise<ReplayOutcome> {
  const msg = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, messageId)).get();
  if (!msg) throw new GatewayError("NOT_FOUND", "the dead letter's fiscal message no longer exists");
  if (msg.deliveryStatus === "REJECTED") {
    throw new GatewayError("INVALID_STATE", "iFIX rejected this message (4xx): sending the same signed bytes again cannot succeed", {
      details: [{ path: "deliveryStatus", message: msg.deliveryStatus }],
    });
  }
  if (msg.deliveryStatus !== "FAILED") {
    throw new GatewayError("INVALID_STATE", `the fiscal message is ${msg.deliveryStatus}, not FAILED: replaying it could send it twice`, {
      details: [{ path: "deliveryStatus", message: msg.deliveryStatus }],
    });
  }
  const now = new Date().toISOString();
  const nextStatus = msg.status === "FAILED" ? "QUEUED" : msg.status;
  const results = await db.batch([
    db
      .update(fiscalMessages)
      .set({ deliveryStatus: "QUEUED", status: nextStatus, lastError: null, updatedAt: now })
      .where(and(eq(fiscalMessages.id, messageId), eq(fiscalMessages.deliveryStatus, "FAILED")))
      .returning({ id: fiscalMessages.id }),
    db.insert(fiscalOutbox).values({ messageId, attempt: 0, leaseUntil: null, createdAt: Date.now() }).onConflictDoNothing(),
    auditInsert(db, {
      actor,
      action: "fiscal.replay",
      targetType: "fiscal_message",
      targetId: messageId,
      before: { deliveryStatus: msg.deliveryStatus, status: msg.status, attempts: msg.attempts },
      after: { deliveryStatus: "QUEUED", status: nextStatus },
      requestId,
    }),
  ]);
  if ((results[0] as unknown[]).length === 0) throw new GatewayError("INVALID_STATE", "the fiscal message changed meanwhile: not replayed");
  // Attempt 0: the outbox row just written. Should the send fail, the fiscal sweep re-sends the unleased row.
  const outbox = await db.select().from(fiscalOutbox).where(eq(fiscalOutbox.messageId, messageId)).get();
  await enqueueDelivery(env, db, messageId, outbox?.attempt ?? 0);
  return { before: `delivery FAILED (${msg.status})`, after: `delivery QUEUED (${nextStatus})` };
}
