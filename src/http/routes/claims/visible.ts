import { eq } from "drizzle-orm";
import type { Db } from "../../../storage/db";
import type { Principal } from "../../context";
import { canSee } from "../../middleware/auth";
import { GatewayError } from "../../errors";
import { claims } from "../../../storage/schema/claims";
import type { ClaimRow } from "../../../domain/claims/ledger";

/** The claim the caller may see, by its (case-insensitive) id; another client's claim is a 404 like a missing one. */
export async function visibleClaim(db: Db, principal: Principal | undefined, claimId: string): Promise<ClaimRow> {
  const row = await db.select().from(claims).where(eq(claims.id, claimId.toLowerCase())).get();
  if (!row || !canSee(principal, row.ownerId)) throw new GatewayError("NOT_FOUND", "claim not found");
  return row;
}
