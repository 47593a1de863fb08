import { eq } from "drizzle-orm";
import type { Db } from "../../storage/db";
import type { Env } from "../../env";
import { paymentInstructions, PI_STATUSES } from "../../storage/schema/payment-instructions";
import { GatewayError } from "../../http/errors";
import { listPis, setPiStatusByApi } from "../../domain/funds/payment-instructions";

/**
 * Payment instructions stuck after an ambiguous disburse delivery, as the funds area defines "stuck"
 * (not final, and dead-lettered, refused, timed out, still reserved, or idle for a day); `all` lists
 * every PI, newest first.
 */
export async function listPaymentsForOps(db: Db, scope: "stuck" | "all", limit = 100, status?: string) {
  return listPis(db, { stuck: scope === "stuck", status, limit });
}

export const PI_TARGET_STATUSES = PI_STATUSES.filter((s) => s !== "INITIATED");

/**
 * Sets a PI's status as an operator, through the funds area's own rule (its Durable Object moves the
 * PI, releases the funds on FAILED exactly once, and the change is audited as a PI status override).
 */
export async function setPaymentStatusAsOperator(env: Env, db: Db, piId: string, status: string, reason: string, actor: string, requestId: string) {
  if (!(PI_STATUSES as readonly string[]).includes(status)) {
    throw new GatewayError("VALIDATION_FAILED", "unknown payment instruction status", { details: [{ path: "status", message: `one of ${PI_STATUSES.join(", ")}` }] });
  }
  const trimmed = reason.trim();
  if (trimmed.length < 3 || trimmed.length > 500) {
    throw new GatewayError("VALIDATION_FAILED", "a reason of 3 to 500 characters is required", { details: [{ path: "reason", message: "3 to 500 characters" }] });
  }
  const row = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, piId)).get();
  if (!row) throw new GatewayError("NOT_FOUND", "payment instruction not found");
  const before = row.status;
  await setPiStatusByApi(env, db, row, status as (typeof PI_STATUSES)[number], trimmed, actor, requestId);
  return { piId, before, after: status };
}
