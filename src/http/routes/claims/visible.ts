import { eq } from "drizzle-orm";
import type { Db } from "../../../storage/db";
import type { Principal } from "../../context";
import { canSee } from "../../middleware/auth";
import { GatewayError } from "../../errors";
import { claims } from "../../../storage/schema/claims";
import { claimWithDeliveries, type ClaimRow, type DeliveryRow } from "../../../domain/claims/ledger";

/** The claim the caller may see, by its (case-insensitive) id; another client's claim is a 404 like a missing one. */
export async function visibleClaim(db: Db, principal: Principal | undefined, claimId: string): Promise<ClaimRow> {
  return seen(principal, await db.select().from(claims).where(eq(claims.id, claimId.toLowerCase())).get());
}

/** visibleClaim with its submit deliveries, in one D1 round trip (GET /v1/claims/{claimId}). */
export async function visibleClaimWithDeliveries(
  db: Db,
  principal: Principal | undefined,
  claimId: string,
): Promise<{ row: ClaimRow; deliveries: DeliveryRow[] }> {
  const { row, deliveries } = await claimWithDeliveries(db, claimId.toLowerCase());
  return { row: seen(principal, row), deliveries };
}

function seen(principal: Principal | undefined, row: ClaimRow | undefined): ClaimRow {
  if (!row || !canSee(principal, row.ownerId)) throw new GatewayError("NOT_FOUND", "claim not found");
  return row;
}
