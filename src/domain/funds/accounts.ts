import { and, asc, eq, gt, or, type SQL } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { fundsAccounts } from "../../storage/schema/funds-accounts";
import { paiseToRupees } from "../../lib/money";
import type { AccountKey, Balance } from "./types";

export type { AccountKey } from "./types";

/**
 * The Durable Object of one account: one instance per tenant + head of account + SSU. Created near
 * India ("apac": Cloudflare offers no India jurisdiction; the hint applies when an object is first made).
 */
export function accountStub(env: Env, k: AccountKey) {
  return env.FUNDS_ACCOUNT.get(env.FUNDS_ACCOUNT.idFromName(JSON.stringify([k.tenantId, k.headOfAccount, k.ssuCode])), { locationHint: "apac" });
}

/** The object a piId names (its id in hex), or null when the id is not one of this namespace's. */
export function accountStubByHex(env: Env, hex: string) {
  try {
    return env.FUNDS_ACCOUNT.get(env.FUNDS_ACCOUNT.idFromString(hex), { locationHint: "apac" });
  } catch {
    return null;
  }
}

export const balanceView = (b: Pick<Balance, "allotted" | "withdrawn" | "committed" | "available">) => ({
  allotted: paiseToRupees(b.allotted),
  withdrawn: paiseToRupees(b.withdrawn),
  committed: paiseToRupees(b.committed),
  available: paiseToRupees(b.available),
});

/**
 * Which accounts a tenant has (not their balances: those are money, and only the objects decide on
 * them). Read from D1's registry of accounts, every page (the 101st account is found too), and kept
 * in the isolate for ACCOUNT_LIST_TTL_MS: a list of which accounts exist is not money. A PI that finds
 * no funds on a cached list reads it again before answering 422 (an account made seconds ago counts).
 */
export const ACCOUNT_LIST_TTL_MS = 10_000;
const PAGE = 500;
const MAX_TENANTS_CACHED = 1_000;
const listCache = new Map<string, { at: number; keys: AccountKey[] }>();

async function readTenantAccounts(db: Db, tenantId: string): Promise<AccountKey[]> {
  const out: AccountKey[] = [];
  let after: [string, string] | null = null;
  for (;;) {
    const cursor: [string, string] | null = after;
    const where: SQL[] = [eq(fundsAccounts.tenantId, tenantId)];
    if (cursor)
      where.push(
        or(gt(fundsAccounts.headOfAccount, cursor[0]), and(eq(fundsAccounts.headOfAccount, cursor[0]), gt(fundsAccounts.ssuCode, cursor[1])))!,
      );
    const rows = await db
      .select({ tenantId: fundsAccounts.tenantId, headOfAccount: fundsAccounts.headOfAccount, ssuCode: fundsAccounts.ssuCode })
      .from(fundsAccounts)
      .where(and(...where))
      .orderBy(asc(fundsAccounts.headOfAccount), asc(fundsAccounts.ssuCode))
      .limit(PAGE)
      .all();
    out.push(...rows);
    if (rows.length < PAGE) return out;
    const last = rows[rows.length - 1];
    after = [last.headOfAccount, last.ssuCode];
  }
}

/** The tenant's accounts in sorted order (head of account, then SSU); `fresh` skips the isolate's copy. */
export async function tenantAccountKeys(
  db: Db,
  tenantId: string,
  opts: { fresh?: boolean; now?: number } = {},
): Promise<{ keys: AccountKey[]; cached: boolean }> {
  const now = opts.now ?? Date.now();
  const hit = listCache.get(tenantId);
  if (!opts.fresh && hit && now - hit.at < ACCOUNT_LIST_TTL_MS) return { keys: hit.keys, cached: true };
  const keys = await readTenantAccounts(db, tenantId);
  listCache.delete(tenantId);
  if (listCache.size >= MAX_TENANTS_CACHED) listCache.delete(listCache.keys().next().value!);
  listCache.set(tenantId, { at: now, keys });
  return { keys, cached: false };
}

/** A new account of this tenant exists: this isolate sees it at once (others within the TTL). */
export const forgetTenantAccounts = (tenantId: string) => listCache.delete(tenantId);

/**
 * The accounts that may pay a PI, in the order they are tried: the one it names, or else the
 * tenant's accounts in sorted order narrowed by whichever of head of account and SSU it gives, as the
 * IFMS adapter chooses.
 */
export async function candidateAccounts(
  db: Db,
  tenantId: string,
  headOfAccount: string | null | undefined,
  ssuCode: string | null | undefined,
  opts: { fresh?: boolean } = {},
): Promise<{ keys: AccountKey[]; cached: boolean }> {
  if (headOfAccount && ssuCode) return { keys: [{ tenantId, headOfAccount, ssuCode }], cached: false };
  const all = await tenantAccountKeys(db, tenantId, opts);
  return {
    keys: all.keys.filter((k) => (!headOfAccount || k.headOfAccount === headOfAccount) && (!ssuCode || k.ssuCode === ssuCode)),
    cached: all.cached,
  };
}
