import type { Db } from "../../storage/db";
import { CLAIM_STATUSES } from "../../storage/schema/claims";
import { figuresFor } from "./schedule";

export interface ReportRow {
  status: string;
  count: number;
  totalPaise: number;
}

export interface ClaimsReport {
  period: string;
  rows: ReportRow[];
  total: ReportRow;
}

/** A period's counts and amounts per status, every status listed (one client's, or all with no owner). */
export async function claimsReport(db: Db, period: string, ownerId?: string): Promise<ClaimsReport> {
  const agg = await figuresFor(db, period, ownerId);
  const rows = CLAIM_STATUSES.map((status) => {
    const a = agg.find((r) => r.status === status);
    return { status, count: Number(a?.count ?? 0), totalPaise: Number(a?.totalPaise ?? 0) };
  });
  const total = rows.reduce((t, r) => ({ status: "TOTAL", count: t.count + r.count, totalPaise: t.totalPaise + r.totalPaise }), {
    status: "TOTAL",
    count: 0,
    totalPaise: 0,
  });
  return { period, rows, total };
}

/** Rupees with exactly two decimals, from integer paise (no float arithmetic): 30000 → "300.00". */
export const paiseText = (p: number) => `${p < 0 ? "-" : ""}${Math.floor(Math.abs(p) / 100)}.${String(Math.abs(p) % 100).padStart(2, "0")}`;

const csvCell = (v: string | number) => {
  const s = String(v);
  // Quote, and defuse spreadsheet formulas in text cells.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === "string" ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/**
 * The one CSV of a claims report, for GET /v1/reports/claims (Accept: text/csv) and the console's
 * reconciliation alike: `period,status,count,total_amount`, a row per status and a TOTAL row, amounts
 * as exact rupees with two decimals, CRLF line ends (RFC 4180).
 */
export function claimsReportCsv(r: ClaimsReport): string {
  const lines = [["period", "status", "count", "total_amount"].join(",")];
  for (const row of [...r.rows, r.total]) lines.push([r.period, row.status, row.count, paiseText(row.totalPaise)].map(csvCell).join(","));
  return lines.join("\r\n") + "\r\n";
}
