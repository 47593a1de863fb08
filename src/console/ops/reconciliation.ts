import type { Db } from "../../storage/db";
import { claimsReport, claimsReportCsv, paiseText, type ClaimsReport, type ReportRow } from "../../domain/claims/report";

export type ReconciliationRow = ReportRow;
export { paiseText };

/**
 * The monthly claims reconciliation of CONTRACT §8 for one period, across all clients (operators see
 * everything): counts and amounts per status, every status listed. The figures and the CSV are the
 * claims area's own (the ones behind GET /v1/reports/claims), over all clients.
 */
export async function claimsReconciliation(db: Db, period: string): Promise<ClaimsReport> {
  return claimsReport(db, period);
}

/** The same CSV as GET /v1/reports/claims with Accept: text/csv. */
export const reconciliationCsv = (r: ClaimsReport): string => claimsReportCsv(r);
