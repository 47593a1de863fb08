import { and, count, desc, eq, gte, inArray, sql, sum, notInArray } from "drizzle-orm";
import type { Db } from "../../storage/db";
import { claims, CLAIM_STATUSES } from "../../storage/schema/claims";
import { upstreamCalls } from "../../storage/schema/upstream-calls";
import { deadLetters } from "../../storage/schema/dead-letters";
import { fundsAccounts } from "../../storage/schema/funds-accounts";
import { openDeadLetter } from "./dead-letters";

export const PORTALS = ["assam", "umang", "ifix", "webhook"] as const;
/** Outcomes that count against an upstream's health; `rejected` is the portal judging the content. */
export const FAILED_OUTCOMES = ["retry", "failed", "timeout", "network"] as const;
/** In a query grouped over `upstream_calls`: how many of the group's calls failed (FAILED_OUTCOMES). */
export const failedCalls = () => sql<number>`sum(case when ${inArray(upstreamCalls.outcome, [...FAILED_OUTCOMES])} then 1 else 0 end)`;

export interface ClaimsCell {
  period: string;
  status: string;
  count: number;
  totalPaise: number;
}

/** Claims per period and status with amounts, the latest `periods` periods. */
export async function claimsByPeriod(db: Db, periods = 6): Promise<{ periods: string[]; cells: ClaimsCell[] }> {
  const recent = await db.selectDistinct({ period: claims.period }).from(claims).orderBy(desc(claims.period)).limit(periods).all();
  const list = recent.map((r) => r.period).sort();
  if (list.length === 0) return { periods: [], cells: [] };
  const rows = await db
    .select({ period: claims.period, status: claims.status, count: count(), totalPaise: sum(claims.totalPaise) })
    .from(claims)
    .where(gte(claims.period, list[0]))
    .groupBy(claims.period, claims.status)
    .all();
  return {
    periods: list,
    cells: rows.map((r) => ({ period: r.period, status: r.status, count: Number(r.count), totalPaise: Number(r.totalPaise ?? 0) })),
  };
}

export interface PortalHealth {
  portal: string;
  calls: number;
  failures: number;
  successRate: number | null;
  p50: number | null;
  p95: number | null;
  lastError: { at: string; operation: string; outcome: string; httpStatus: number | null; errorCode: string | null } | null;
}

async function percentile(db: Db, portal: (typeof PORTALS)[number], since: string, n: number, p: number): Promise<number | null> {
  if (n === 0) return null;
  const offset = Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
  const row = await db
    .select({ d: upstreamCalls.durationMs })
    .from(upstreamCalls)
    .where(and(eq(upstreamCalls.portal, portal), gte(upstreamCalls.at, since)))
    .orderBy(upstreamCalls.durationMs)
    .limit(1)
    .offset(offset)
    .get();
  return row?.d ?? null;
}

/** Success rate, p50/p95 latency and last error per portal since `since` (ISO). */
export async function upstreamHealth(db: Db, since: string): Promise<PortalHealth[]> {
  const agg = await db
    .select({
      portal: upstreamCalls.portal,
      calls: count(),
      failures: failedCalls(),
    })
    .from(upstreamCalls)
    .where(gte(upstreamCalls.at, since))
    .groupBy(upstreamCalls.portal)
    .all();
  // Each portal's last error and percentiles are independent reads: asked for together, not one after another.
  return Promise.all(
    PORTALS.map(async (portal): Promise<PortalHealth> => {
      const a = agg.find((r) => r.portal === portal);
      const calls = Number(a?.calls ?? 0);
      const failures = Number(a?.failures ?? 0);
      const [last, p50, p95] = await Promise.all([
        calls
          ? db
              .select({
                at: upstreamCalls.at,
                operation: upstreamCalls.operation,
                outcome: upstreamCalls.outcome,
                httpStatus: upstreamCalls.httpStatus,
                errorCode: upstreamCalls.errorCode,
              })
              .from(upstreamCalls)
              .where(and(eq(upstreamCalls.portal, portal), gte(upstreamCalls.at, since), notInArray(upstreamCalls.outcome, ["ok"])))
              .orderBy(desc(upstreamCalls.id))
              .limit(1)
              .get()
          : undefined,
        percentile(db, portal, since, calls, 0.5),
        percentile(db, portal, since, calls, 0.95),
      ]);
      return { portal, calls, failures, successRate: calls ? (calls - failures) / calls : null, p50, p95, lastError: last ?? null };
    }),
  );
}

export async function deadLetterCounts(db: Db): Promise<{ open: number; total: number }> {
  const [open, total] = await Promise.all([
    db.select({ n: count() }).from(deadLetters).where(openDeadLetter()).get(),
    db.select({ n: count() }).from(deadLetters).get(),
  ]);
  return { open: Number(open?.n ?? 0), total: Number(total?.n ?? 0) };
}

export interface FundsRow {
  tenantId: string;
  headOfAccount: string;
  ssuCode: string;
  allotted: number;
  withdrawn: number;
  committed: number;
  available: number;
}

/** Funds per tenant and head of account (summed over SSUs) and per account, from the D1 projection. */
export async function fundsByHead(db: Db, limit = 200): Promise<{ heads: Omit<FundsRow, "ssuCode">[]; accounts: FundsRow[] }> {
  const heads = await db
    .select({
      tenantId: fundsAccounts.tenantId,
      headOfAccount: fundsAccounts.headOfAccount,
      allotted: sum(fundsAccounts.allotted),
      withdrawn: sum(fundsAccounts.withdrawn),
      committed: sum(fundsAccounts.committed),
      available: sum(fundsAccounts.available),
    })
    .from(fundsAccounts)
    .groupBy(fundsAccounts.tenantId, fundsAccounts.headOfAccount)
    .orderBy(fundsAccounts.tenantId, fundsAccounts.headOfAccount)
    .limit(limit)
    .all();
  const accounts = await db
    .select({
      tenantId: fundsAccounts.tenantId,
      headOfAccount: fundsAccounts.headOfAccount,
      ssuCode: fundsAccounts.ssuCode,
      allotted: fundsAccounts.allotted,
      withdrawn: fundsAccounts.withdrawn,
      committed: fundsAccounts.committed,
      available: fundsAccounts.available,
    })
    .from(fundsAccounts)
    .orderBy(fundsAccounts.tenantId, fundsAccounts.headOfAccount, fundsAccounts.ssuCode)
    .limit(limit)
    .all();
  return {
    heads: heads.map((h) => ({
      tenantId: h.tenantId,
      headOfAccount: h.headOfAccount,
      allotted: Number(h.allotted ?? 0),
      withdrawn: Number(h.withdrawn ?? 0),
      committed: Number(h.committed ?? 0),
      available: Number(h.available ?? 0),
    })),
    accounts,
  };
}

export { CLAIM_STATUSES };
