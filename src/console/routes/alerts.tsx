import type { Hono } from "hono";
import { desc } from "drizzle-orm";
import { GatewayError } from "../../errors";
import { actorOf } from "../../http/context";
import { alerts } from "../../storage/schema/alerts";
import { auditInsert } from "../../storage/audit";
import { alertRules, getAlertConfig, sendTestAlert } from "../../cron/alerts.job";
import { AlertsPage } from "../pages/alerts";
import { allow, protectedForm } from "../form";
import { page, type C } from "../render";
import type { ConsoleEnv } from "../session";

export function registerAlerts(app: Hono<ConsoleEnv>) {
  const alertsPage = async (c: C, flash: { ok?: string; error?: string } = {}, status: 200 | 502 | 503 = 200) => {
    const rows = await c.get("services").db.select().from(alerts).orderBy(desc(alerts.id)).limit(100).all();
    let rules: ReturnType<typeof alertRules> | null = null;
    let configError: string | undefined;
    try {
      rules = alertRules(c.env);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      configError = err.message;
    }
    const s = c.get("session")!;
    return page(
      c,
      "Alerts",
      "/console/alerts",
      <AlertsPage items={rows} rules={rules} configError={configError} csrf={s.csrf} role={s.role} {...flash} />,
      status,
    );
  };

  app.get("/alerts", (c) => alertsPage(c));

  app.post("/alerts/test", allow("alert.test"), async (c) => {
    await protectedForm(c);
    const db = c.get("services").db;
    const actor = actorOf(c.get("principal"));
    if (!getAlertConfig(c.env).ALERT_WEBHOOK_URL)
      return alertsPage(c, { error: "No alert webhook is configured (ALERT_WEBHOOK_URL): nothing was sent." }, 503);
    const r = await sendTestAlert(c.env, db, actor);
    await auditInsert(db, { actor, action: "alert.test", targetType: "alert_webhook", after: r, requestId: c.get("requestId") }).run();
    if (r.delivery === "sent") return alertsPage(c, { ok: `Test alert posted to the webhook (HTTP ${r.httpStatus}).` });
    return alertsPage(c, { error: `The webhook did not take the test alert (${r.httpStatus ? `HTTP ${r.httpStatus}` : "no answer"}).` }, 502);
  });
}
