import { eq } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { auditInsert } from "../../storage/audit";
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
 *   dropped connections, 5xx: the portal may have recorded it). The claims area's resolution function
 *   is being written in parallel; until it lands, `resolveAmbiguousClaim` checks that the claim is
 *   resolvable and records the operator's decision and reason in the audit log, and changes nothing
 *   else (today's ledger does not hold the month for a FAILED claim, so there is nothing to release).
 */
export const REFRESHABLE = ["PENDING", "ACCEPTED"] as const;

/** FAILED without a definite refusal: the portal may hold it (CONTRACT v3 §5). PORTAL_CONFLICT is definite. */
export const AMBIGUOUS_FAILURES = ["DELIVERY_FAILED"] as const;

export type ClaimRow = typeof claims.$inferSelect;
export const canRefresh = (row: Pick<ClaimRow, "status">) => (REFRESHABLE as readonly string[]).includes(row.status);
export const canReplay = (row: Pick<ClaimRow, "status" | "failureCode">) => row.status === "FAILED" && row.failureCode !== "PORTAL_CONFLICT";
export const canResolve = (row: Pick<ClaimRow, "status" | "failureCode">) =>
  row.status === "FAILED" && (AMBIGUOUS_FAILURES as readonly string[]).includes(row.failureCode ?? "");

export const RESOLUTIONS = {
  portal_has_it: "The portal has recorded this claim: it keeps the month",
  portal_does_not_have_it: "The portal does not know this claim: the month is free for a corrected claim",
} as const;
export type ClaimResolution = keyof typeof RESOLUTIONS;

async function claimRow(db: Db, claimId: string) {
  const row = await db.select().from(claims).where(eq(claims.id, claimId.toLowerCase())).get();
  if (!row) throw new GatewayError("NOT_FOUND", "claim not found");
  return row;
}

/** Polls the portal now for a PENDING or ACCEPTED claim; answers the status before and after. */
export async function refreshClaim(env: Env, db: Db, claimId: string, actor: string, requestId: string) {
  const row = await claimRow(db, claimId);
  if (!canRefresh(row)) throw new GatewayError("INVALID_STATE", `a ${row.status} claim is not polled`, { details: [{ path: "status", message: row.status }] });
  const r = await pollClaim(env, db, row, { from: [...REFRESHABLE], maxWaitMs: 5_000, requestId });
  if (r.step === "paced") throw new GatewayError("UPSTREAM_UNAVAILABLE", "the portal's pace allows no request now; try again shortly");
  if (r.step === "error") throw new GatewayError("UPSTREAM_UNAVAILABLE", "the portal could not be read now (see the transaction log)");
  const after = (await claimRow(db, claimId)).status;
  await auditInsert(db, { actor, action: "claim.refresh", targetType: "claim", targetId: row.id, before: { status: row.status }, after: { status: after }, requestId }).run();
  return { before: row.status, after };
}

/** Records an operator's resolution of an ambiguously FAILED claim (see the file's comment). */
export async function resolveAmbiguousClaim(db: Db, claimId: string, resolution: string, reason: string, actor: string, requestId: string) {
  if (!Object.hasOwn(RESOLUTIONS, resolution)) {
    throw new GatewayError("VALIDATION_FAILED", "choose what the portal says about this claim", { details: [{ path: "resolution", message: Object.keys(RESOLUTIONS).join(" or ") }] });
  }
  const why = reason.trim();
  if (why.length < 3 || why.length > 500) throw new GatewayError("VALIDATION_FAILED", "a reason of 3 to 500 characters is required", { details: [{ path: "reason", message: "3 to 500 characters" }] });
  const row = await claimRow(db, claimId);
  if (!canResolve(row)) {
    throw new GatewayError("INVALID_STATE", `only a claim that FAILED without a definite answer is resolved by an operator; this one is ${row.status}${row.failureCode ? ` (${row.failureCode})` : ""}`, {
      details: [{ path: "status", message: row.status }],
    });
  }
  await auditInsert(db, {
    actor,
    action: "claim.resolve",
    targetType: "claim",
    targetId: row.id,
    before: { status: row.status, failureCode: row.failureCode },
    after: { resolution, reason: why },
    requestId,
  }).run();
  return { resolution: resolution as ClaimResolution };
}
