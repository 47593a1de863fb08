import { and, asc, eq, sql } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { fundsAccounts } from "../../storage/schema/funds-accounts";
import { paiseToRupees } from "../../lib/money";
import type { Balance } from "./types";

export interface AccountKey {
  tenantId: string;
  headOfAccount: string;
  ssuCode: string;
}

/**
 * The Durable Object of one account: one instance per tenant + head of account + SSU. Created near
 * India ("apac": Cloudflare offers no India jurisdiction; the hint applies when an object is first made).
 */
export function accountStub(env: Env, k: AccountKey) {
  return env.FUNDS_ACCOUNT.get(env.FUNDS_ACCOUNT.idFromName(JSON.stringify([k.tenantId, k.headOfAccount, k.ssuCode])), { locationHint: "apac" });
}

/** Registers the account in D1 before its object is first changed, so the sweep can always find it. */
export function registerAccount(db: Db, k: AccountKey) {
  const now = new Date().toISOString();
  return db.insert(fundsAccounts).values({ ...k, createdAt: now, updatedAt: now }).onConflictDoNothing();
}

/** The summary projection's upsert: applies only a state newer (higher seq) than the one it holds. */
export function projectBalance(db: Db, k: AccountKey, b: Balance) {
  const now = new Date().toISOString();
  return db
    .insert(fundsAccounts)
    .values({
      ...k,
      sanctioned: b.sanctioned,
      allotted: b.allotted,
      withdrawn: b.withdrawn,
      committed: b.committed,
      available: b.available,
      seq: b.seq,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: [fundsAccounts.tenantId, fundsAccounts.headOfAccount, fundsAccounts.ssuCode],
      set: {
        sanctioned: sql`excluded.sanctioned`,
        allotted: sql`excluded.allotted`,
        withdrawn: sql`excluded.withdrawn`,
        committed: sql`excluded.committed`,
        available: sql`excluded.available`,
        seq: sql`excluded.seq`,
        updatedAt: sql`excluded.updated_at`,
      },
      setWhere: sql`excluded.seq > ${fundsAccounts.seq}`,
    });
}

export const balanceView = (b: Pick<Balance, "allotted" | "withdrawn" | "committed" | "available">) => ({
  allotted: paiseToRupees(b.allotted),
  withdrawn: paiseToRupees(b.withdrawn),
  committed: paiseToRupees(b.committed),
  available: paiseToRupees(b.available),
});

/** The tenant's accounts in sorted order (head of account, then SSU). */
export async function tenantAccounts(db: Db, tenantId: string, filter: { headOfAccount?: string; ssuCode?: string } = {}, limit = 100) {
  const where = [eq(fundsAccounts.tenantId, tenantId)];
  if (filter.headOfAccount) where.push(eq(fundsAccounts.headOfAccount, filter.headOfAccount));
  if (filter.ssuCode) where.push(eq(fundsAccounts.ssuCode, filter.ssuCode));
  return db
    .select()
    .from(fundsAccounts)
    .where(and(...where))
    .orderBy(asc(fundsAccounts.headOfAccount), asc(fundsAccounts.ssuCode))
    .limit(limit)
    .all();
}

/**
 * The accounts that may pay a PI: the one it names, or else the tenant's accounts in sorted order
 * (narrowed by whichever of head of account and SSU it gives), as the IFMS adapter chooses.
 */
export async function candidateAccounts(db: Db, tenantId: string, headOfAccount: string | null | undefined, ssuCode: string | null | undefined, limit: number): Promise<AccountKey[]> {
  if (headOfAccount && ssuCode) return [{ tenantId, headOfAccount, ssuCode }];
  const rows = await tenantAccounts(db, tenantId, { headOfAccount: headOfAccount ?? undefined, ssuCode: ssuCode ?? undefined }, limit);
  return rows.map((a) => ({ tenantId: a.tenantId, headOfAccount: a.headOfAccount, ssuCode: a.ssuCode }));
}
