import type { Db } from "../../storage/db";
import { CLAIM_STATUSES } from "../../storage/schema/claims";
import { figuresFor } from "../../domain/claims/schedule";

export interface ReconciliationRow {
  status: string;
  count: number;
  totalPaise: number;
}

/**
 * The monthly claims reconciliation of CONTRACT §8 for one period, across all clients (operators see
 * everything): counts and amounts per status, every status listed. The figures come from the claims
 * area's own report function (the one behind GET /v1/reports/claims), over all clients.
 */
export async function claimsReconciliation(db: Db, period: string): Promise<{ period: string; rows: ReconciliationRow[]; total: ReconciliationRow }> {
  const agg = await figuresFor(db, period);
  const rows = CLAIM_STATUSES.map((status) => {
    const a = agg.find((r) => r.status === status);
    return { status, count: Number(a?.count ?? 0), totalPaise: Number(a?.totalPaise ?? 0) };
  });
  const total = rows.reduce((t, r) => ({ status: "TOTAL", count: t.count + r.count, totalPaise: t.totalPaise + r.totalPaise }), { status: "TOTAL", count: 0, totalPaise: 0 });
  return { period, rows, total };
}

const csvCell = (v: string | number) => {
  const s = String(v);
  // Quote, and defuse spreadsheet formulas in text cells.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === "string" ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** Amount in rupees with two decimals, from integer paise (no float arithmetic). */
export const paiseText = (p: number) => `${p < 0 ? "-" : ""}${Math.floor(Math.abs(p) / 100)}.${String(Math.abs(p) % 100).padStart(2, "0")}`;

export function reconciliationCsv(r: { period: string; rows: ReconciliationRow[]; total: ReconciliationRow }): string {
  // The same columns as GET /v1/reports/claims with Accept: text/csv.
  const lines = [["period", "status", "count", "total_amount"].join(",")];
  for (const row of [...r.rows, r.total]) lines.push([r.period, row.status, row.count, paiseText(row.totalPaise)].map(csvCell).join(","));
  return lines.join("\r\n") + "\r\n";
}
