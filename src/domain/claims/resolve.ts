import { eq } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { GatewayError } from "../../errors";
import { transition, type ClaimRow } from "./ledger";

/**
 * How an operator settles a claim that FAILED after ambiguous attempts (it holds its ASHA's month
 * because the portal may have recorded it; CONTRACT §5):
 * - `not_recorded`: the portal does not have it (checked with the State's portal team): the claim
 *   stays FAILED and frees the month for a corrected claim (it can still be replayed later, if the
 *   month is free then);
 * - `recorded`: the portal has it: the claim becomes PENDING and the sweep polls its status.
 */
export const RESOLUTIONS = ["not_recorded", "recorded"] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export interface ResolveInput {
  resolution: Resolution;
  /** Why (kept in the audit log only). */
  reason: string;
}

/**
 * Resolves an ambiguously FAILED claim (see RESOLUTIONS), audited in the same D1 batch as the change
 * (who, the reason, before → after). 404 for no such claim; 409 INVALID_STATE unless the claim is
 * FAILED and still holds its month.
 */
export async function resolveClaim(
  env: Env,
  db: Db,
  claimId: string,
  input: ResolveInput,
  actor: string,
  requestId: string | null,
): Promise<ClaimRow> {
  const row = await db.select().from(claims).where(eq(claims.id, claimId.toLowerCase())).get();
  if (!row) throw new GatewayError("NOT_FOUND", "claim not found");
  if (row.status !== "FAILED" || !row.holdsMonth) {
    throw new GatewayError(
      "INVALID_STATE",
      `only a FAILED claim that still holds its month (the portal may have recorded it) is resolved; this one is ${row.status}${row.status === "FAILED" ? " and holds no month" : ""}`,
      {
        details: [{ path: "status", message: row.status }],
      },
    );
  }
  const now = Date.now();
  const patch: Partial<ClaimRow> =
    input.resolution === "not_recorded"
      ? {
          holdsMonth: false,
          maybeRecorded: false,
          errors: [
            ...row.errors,
            {
              code: "RESOLVED_NOT_RECORDED",
              message: "an operator confirmed the portal does not have this submission: the month is free for a corrected claim",
            },
          ],
        }
      : { status: "PENDING", holdsMonth: true, maybeRecorded: true, failureCode: null, errors: [], nextPollAt: now };
  const t = await transition(env, db, {
    row,
    fromStatus: "FAILED",
    patch,
    // What the decision rests on: FAILED and still holding the month (a concurrent resolution that
    // applied first leaves this one nothing to change).
    where: eq(claims.holdsMonth, true),
    audit: {
      actor,
      action: "claim.resolve",
      targetType: "claim",
      targetId: row.id,
      before: { status: row.status, failureCode: row.failureCode, holdsMonth: true, errors: row.errors },
      after: { resolution: input.resolution, reason: input.reason, status: patch.status ?? row.status, holdsMonth: patch.holdsMonth },
      requestId,
    },
  });
  if (!t.applied) throw new GatewayError("INVALID_STATE", "the claim changed meanwhile; read it again");
  return t.row;
}
