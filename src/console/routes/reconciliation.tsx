import type { Hono } from "hono";
import { desc } from "drizzle-orm";
import { GatewayError } from "../../errors";
import { claims } from "../../storage/schema/claims";
import { PERIOD_RE, currentIstPeriod } from "../../domain/claims/periods";
import { claimsReconciliation, reconciliationCsv } from "../ops/reconciliation";
import { ReconciliationPage } from "../pages/reconciliation";
import { page } from "../render";
import type { ConsoleEnv } from "../session";

export function registerReconciliation(app: Hono<ConsoleEnv>) {
  app.get("/reconciliation", async (c) => {
    const db = c.get("services").db;
    const q = c.req.query("period");
    const period = q && PERIOD_RE.test(q) ? q : undefined;
    if (q && !period) throw new GatewayError("VALIDATION_FAILED", "period must be YYYY-MM");
    const periods = (await db.selectDistinct({ period: claims.period }).from(claims).orderBy(desc(claims.period)).limit(24).all()).map(
      (r) => r.period,
    );
    const chosen = period ?? periods[0] ?? currentIstPeriod();
    const r = await claimsReconciliation(db, chosen);
    return page(
      c,
      `Claims reconciliation ${chosen}`,
      "/console/reconciliation",
      <ReconciliationPage period={chosen} rows={r.rows} total={r.total} periods={periods} />,
    );
  });

  app.get("/reconciliation.csv", async (c) => {
    const period = c.req.query("period") ?? "";
    if (!PERIOD_RE.test(period)) throw new GatewayError("VALIDATION_FAILED", "period must be YYYY-MM");
    const csv = reconciliationCsv(await claimsReconciliation(c.get("services").db, period));
    c.header("Content-Disposition", `attachment; filename="claims-${period}.csv"`);
    return c.body(csv, 200, { "Content-Type": "text/csv; charset=utf-8" });
  });
}
