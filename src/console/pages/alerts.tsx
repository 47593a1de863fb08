import type { FC } from "hono/jsx";
import { Csrf, Flash, ReadOnly } from "../layout";
import { ist } from "../components";
import { can, type ConsoleRole } from "../roles";
import type { alertRules } from "../../cron/alerts.job";

export interface AlertItem {
  id: number;
  at: string;
  kind: string;
  subject: string;
  value: number;
  threshold: number;
  message: string;
  delivery: string;
  httpStatus: number | null;
}

/** Rates are kept in basis points, counts as counts. */
const measure = (a: AlertItem) =>
  a.kind === "upstream_failure_rate"
    ? `${(a.value / 100).toFixed(1)}% ≥ ${(a.threshold / 100).toFixed(1)}%`
    : a.kind === "dead_letters"
      ? `${a.value} ≥ ${a.threshold}`
      : "–";

export const AlertsPage: FC<{
  items: AlertItem[];
  rules: ReturnType<typeof alertRules> | null;
  configError?: string;
  csrf: string;
  role: ConsoleRole;
  ok?: string;
  error?: string;
}> = ({ items, rules, configError, csrf, role, ok, error }) => (
  <>
    <Flash ok={ok} error={error ?? configError} />
    <h2>Rules</h2>
    {rules ? (
      <>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Alert</th>
                <th scope="col">Fires when</th>
                <th scope="col">Configured by</th>
              </tr>
            </thead>
            <tbody>
              {rules.rules.map((r) => (
                <tr>
                  <td>{r.kind}</td>
                  <td>{r.when}</td>
                  <td>{r.config.join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p class="muted">
          The check runs every 15 minutes; {rules.repeat}. Webhook:{" "}
          {rules.webhookConfigured
            ? `configured (ALERT_WEBHOOK_URL${rules.signed ? ", signed with ALERT_WEBHOOK_SECRET" : ", unsigned"})`
            : "not configured (ALERT_WEBHOOK_URL): alerts are recorded here only"}
          .
        </p>
      </>
    ) : null}
    <h2>Test the webhook</h2>
    {can(role, "alert.test") ? (
      <form method="post" action="/console/alerts/test" class="filters">
        <Csrf token={csrf} />
        <span>
          Posts one alert of kind <code>test</code> to the alert webhook, the way real alerts go, and records it below.
        </span>
        <button type="submit">Send a test alert</button>
      </form>
    ) : (
      <ReadOnly role={role} needs="operator" />
    )}
    <h2>Recent alerts</h2>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Alert</th>
            <th scope="col">Subject</th>
            <th scope="col">Measured</th>
            <th scope="col">What fired it</th>
            <th scope="col">Webhook</th>
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr>
              <td>{ist(a.at)}</td>
              <td>{a.kind}</td>
              <td>{a.subject}</td>
              <td class="num">{measure(a)}</td>
              <td>{a.message}</td>
              <td class={a.delivery === "sent" ? "ok" : a.delivery === "failed" ? "bad" : "muted"}>
                {a.delivery}
                {a.httpStatus ? ` (${a.httpStatus})` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    {items.length === 0 ? <p class="muted">No alerts.</p> : null}
  </>
);
