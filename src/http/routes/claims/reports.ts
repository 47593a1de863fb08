import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, max } from "drizzle-orm";
import type { Router } from "../../router";

import { requireAuth } from "../../middleware/auth";
import { commonErrorResponses } from "../../errors";
import { paiseToRupees } from "../../../lib/money";
import { CLAIM_STATUSES } from "../../../storage/schema/claims";
import { claimReconciliations } from "../../../storage/schema/claim-reconciliations";
import { claimsReport, claimsReportCsv } from "../../../domain/claims/report";
import { Period } from "./schemas";
import { clientSecurity } from "./schemas";

const Report = z
  .object({
    period: z.string(),
    generatedAt: z.string(),
    reconciledAt: z.string().nullable().openapi({ description: "when the sweep last kept this period's reconciliation" }),
    statuses: z.array(z.object({ status: z.enum(CLAIM_STATUSES), count: z.number().int(), totalAmount: z.number() })),
    total: z.object({ count: z.number().int(), totalAmount: z.number() }),
  })
  .openapi("ClaimsReport");

const reportRoute = createRoute({
  method: "get",
  path: "/v1/reports/claims",
  tags: ["claims"],
  summary: "Monthly reconciliation: counts and amounts per status (JSON, or CSV with Accept: text/csv)",
  security: clientSecurity,
  middleware: [requireAuth({ scopes: ["claims:read"] })] as const,
  request: { query: z.strictObject({ period: Period }) },
  responses: {
    200: {
      description: "The report (the caller's own claims; the admin key sees all)",
      content: { "application/json": { schema: Report }, "text/csv": { schema: z.string() } },
    },
    ...commonErrorResponses,
  },
});

export function registerReportRoutes(app: Router) {
  app.openapi(reportRoute, async (c) => {
    const { period } = c.req.valid("query");
    const db = c.get("services").db;
    const principal = c.get("principal")!;
    const owner = principal.kind === "admin" ? undefined : principal.id;
    const figures = await claimsReport(db, period, owner);
    const kept = await db
      .select({ at: max(claimReconciliations.computedAt) })
      .from(claimReconciliations)
      .where(and(eq(claimReconciliations.period, period), owner ? eq(claimReconciliations.ownerId, owner) : undefined))
      .get();
    const report = {
      period,
      generatedAt: new Date().toISOString(),
      reconciledAt: kept?.at ?? null,
      statuses: figures.rows.map((s) => ({
        status: s.status as (typeof CLAIM_STATUSES)[number],
        count: s.count,
        totalAmount: paiseToRupees(s.totalPaise),
      })),
      total: { count: figures.total.count, totalAmount: paiseToRupees(figures.total.totalPaise) },
    };
    if ((c.req.header("accept") ?? "").toLowerCase().includes("text/csv")) {
      // The same writer as the console's reconciliation: amounts as rupees with two decimals.
      c.header("Content-Disposition", `attachment; filename="claims-${period}.csv"`);
      return c.body(claimsReportCsv(figures), 200, { "Content-Type": "text/csv; charset=utf-8" }) as never;
    }
    return c.json(report, 200);
  });
}
