import type { Db } from "../../storage/db";
import type { Env } from "../../env";
import type { Principal } from "../../http/context";
import { PI_STATUSES } from "../../storage/schema/payment-instructions";
import { GatewayError } from "../../errors";
import { actorOfPrincipal, listPis, setPiStatusByApi } from "../../domain/funds/payment-instructions";

/**
 * Payment instructions stuck after an ambiguous disburse delivery, as the funds area defines "stuck"
 * (not final, and dead-lettered, refused, timed out, or idle for a day); `all` lists every PI, newest
 * first. `tenants`: the viewer's tenants (a client sees only its own; the admin key, every tenant).
 */
export async function listPaymentsForOps(
  db: Db,
  scope: "stuck" | "all",
  limit = 100,
  status?: string,
  tenants?: readonly string[],
  tenantId?: string,
) {
  return listPis(db, { stuck: scope === "stuck", status, limit, tenants, tenantId });
}

export const PI_TARGET_STATUSES = PI_STATUSES.filter((s) => s !== "INITIATED");

/**
 * Sets a PI's status from the console under exactly the JSON API's rules
 * (POST /v1/payment-instructions/{piId}/status): the admin key (break-glass) acts as the admin; a
 * client needs scope funds:write, may move only the PIs it created, within its tenants, and, once
 * iFIX has acknowledged a PI's disburse, cannot set it FAILED (409 INVALID_STATE). Scope `ops` alone
 * moves nothing. The PI's object moves it, releases its funds on FAILED exactly once, and audits the
 * call (`actor`: the console's person, when there is one, else the principal).
 */
export async function setPaymentStatusAsOperator(
  env: Env,
  db: Db,
  piId: string,
  status: string,
  reason: string,
  who: { principal: Principal; actor?: string },
  requestId: string,
) {
  if (!(PI_STATUSES as readonly string[]).includes(status)) {
    throw new GatewayError("VALIDATION_FAILED", "unknown payment instruction status", {
      details: [{ path: "status", message: `one of ${PI_STATUSES.join(", ")}` }],
    });
  }
  const trimmed = reason.trim();
  if (trimmed.length < 3 || trimmed.length > 500) {
    throw new GatewayError("VALIDATION_FAILED", "a reason of 3 to 500 characters is required", {
      details: [{ path: "reason", message: "3 to 500 characters" }],
    });
  }
  const p = who.principal;
  if (p.kind === "client" && !p.scopes.includes("funds:write")) {
    throw new GatewayError("FORBIDDEN", "setting a payment instruction's status needs scope funds:write (as in the API); ops alone cannot");
  }
  const actor = { ...actorOfPrincipal(p), ...(who.actor ? { actor: who.actor } : {}) };
  const r = await setPiStatusByApi(env, db, piId, status as (typeof PI_STATUSES)[number], trimmed, actor, requestId);
  return { piId, before: r.from, after: r.to };
}
