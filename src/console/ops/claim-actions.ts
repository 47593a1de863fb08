import { eq } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { auditInsert } from "../../storage/audit";
import { resolveClaim, type Resolution } from "../../domain/claims/resolve";
import { GatewayError } from "../../errors";
import { pollClaim } from "../../domain/claims/delivery";

/**
 * The console's adapter to the claims area for what an operator does to one claim. The claims area
 * owns the rules; this file is the one place the console reaches them, so that a change of their
 * signatures is a change here only.
 *
 * - refresh: the rule of POST /v1/claims/{id}/refresh (PENDING or ACCEPTED only), audited here as an
 *   operator action.
 * - resolve: CONTRACT v3 §5 lets an operator settle a claim that FAILED ambiguously (timeouts,
 *   dropped connections, 5xx: the portal may have recorded it, so it still holds its ASHA's month):
 *   the claims area's resolveClaim, with the console's form checks in front of it.
 */
export const REFRESHABLE = ["PENDING", "ACCEPTED"] as const;

export type ClaimRow = typeof claims.$inferSelect;
export const canRefresh = (row: Pick<ClaimRow, "status">) => (REFRESHABLE as readonly string[]).includes(row.status);
export const canReplay = (row: Pick<ClaimRow, "status" | "failureCode">) => row.status === "FAILED" && row.failureCode !== "PORTAL_CONFLICT";
/** FAILED and still holding its month: the portal may have it (CONTRACT v3 §5), an operator settles it. */
export const canResolve = (row: Pick<ClaimRow, "status" | "holdsMonth">) => row.status === "FAILED" && row.holdsMonth;

/** The claims area's resolutions, in the operator's words. */
export const RESOLUTIONS = {
  recorded: "The portal has recorded this claim: it becomes PENDING, keeps the month and is polled",
  not_recorded: "The portal does not know this claim: it stays FAILED and the month is free for a corrected claim",
} as const satisfies Record<Resolution, string>;
export type ClaimResolution = keyof typeof RESOLUTIONS;

async function claimRow(db: Db, claimId: string) {
  const row = await db.select().from(claims).where(eq(claims.id, claimId.toLowerCase())).get();
  if (!row) throw new GatewayError("NOT_FOUND", "claim not found");
  return row;
}

/** Polls the portal now for a PENDING or ACCEPTED claim; answers the status before and after. */
export async function refreshClaim(env: Env, db: Db, claimId: string, actor: string, requestId: string) {
  const row = await claimRow(db, claimId);
  if (!canRefresh(row))
    throw new GatewayError("INVALID_STATE", `a ${row.status} claim is not polled`, { details: [{ path: "status", message: row.status }] });
  const r = await pollClaim(env, db, row, { from: [...REFRESHABLE], maxWaitMs: 5_000, requestId });
  if (r.step === "paced") throw new GatewayError("UPSTREAM_UNAVAILABLE", "the portal's pace allows no request now; try again shortly");
  if (r.step === "error") throw new GatewayError("UPSTREAM_UNAVAILABLE", "the portal could not be read now (see the transaction log)");
  const after = (await claimRow(db, claimId)).status;
  await auditInsert(db, {
    actor,
    action: "claim.refresh",
    targetType: "claim",
    targetId: row.id,
    before: { status: row.status },
    after: { status: after },
    requestId,
  }).run();
  return { before: row.status, after };
}

/** Resolves an ambiguously FAILED claim through the claims area's rule (audited there, with the reason). */
export async function resolveAmbiguousClaim(env: Env, db: Db, claimId: string, resolution: string, reason: string, actor: string, requestId: string) {
  if (!Object.hasOwn(RESOLUTIONS, resolution)) {
    throw new GatewayError("VALIDATION_FAILED", "choose what the portal says about this claim", {
      details: [{ path: "resolution", message: Object.keys(RESOLUTIONS).join(" or ") }],
    });
  }
  const why = reason.trim();
  if (why.length < 3 || why.length > 500)
    throw new GatewayError("VALIDATION_FAILED", "a reason of 3 to 500 characters is required", {
      details: [{ path: "reason", message: "3 to 500 characters" }],
    });
  const row = await resolveClaim(env, db, claimId, { resolution: resolution as Resolution, reason: why }, actor, requestId);
  return { resolution: resolution as ClaimResolution, status: row.status };
}
