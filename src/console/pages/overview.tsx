import type { FC } from "hono/jsx";
import { rupees, withQuery } from "../layout";
import { ClaimsChart, STATUS_COLOURS } from "../chart";
import { ist, ms, pct } from "../components";
import type { ClaimsCell, FundsRow, PortalHealth } from "../ops/overview";
import { CLAIM_STATUSES } from "../../storage/schema/claims";

export const OverviewPage: FC<{
  claims: { periods: string[]; cells: ClaimsCell[] };
  hour: PortalHealth[];
  day: PortalHealth[];
  deadLetters: { open: number; total: number };
  funds: { heads: Omit<FundsRow, "ssuCode">[]; accounts: FundsRow[] };
  alertsToday: number;
}> = (p) => {
  const { periods, cells } = p.claims;
  const cell = (period: string, status: string) => cells.find((c) => c.period === period && c.status === status);
  return (
    <>
      <div class="cards">
        <div class="card">
          Open dead letters<b class={p.deadLetters.open ? "bad" : "ok"}>{p.deadLetters.open}</b>
          <a href="/console/dead-letters">inspect / replay</a> <span class="muted">({p.deadLetters.total} ever)</span>
        </div>
        {p.hour
          .filter((h) => h.portal !== "webhook")
          .map((h) => (
            <div class="card">
              {h.portal} · last hour
              <b class={h.successRate !== null && h.successRate < 0.8 ? "bad" : "ok"}>{pct(h.successRate)}</b>
              <span class="muted">
                {h.calls} calls, p95 {ms(h.p95)}
              </span>
            </div>
          ))}
        <div class="card">
          Alerts in 24 h<b>{p.alertsToday}</b>
          <a href="/console/alerts">see alerts</a>
        </div>
      </div>

      <h2>Claims per period and status</h2>
      <ClaimsChart periods={periods} cells={cells} />
      {periods.length ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Period</th>
                {CLAIM_STATUSES.map((s) => (
                  <th class="num">
                    <span style={`color:${STATUS_COLOURS[s]}`}>■</span> {s}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {periods.map((period) => (
                <tr>
                  <td>
                    <a href={withQuery("/console/reconciliation", { period })}>{period}</a>
                  </td>
                  {CLAIM_STATUSES.map((s) => {
                    const c = cell(period, s);
                    return (
                      <td class="num">
                        {c ? (
                          <>
                            {c.count}
                            <br />
                            <span class="muted">{rupees(c.totalPaise)}</span>
                          </>
                        ) : (
                          "–"
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <h2>Upstream health</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Portal</th>
              <th>Window</th>
              <th class="num">Calls</th>
              <th class="num">Success</th>
              <th class="num">p50</th>
              <th class="num">p95</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>
            {p.hour.flatMap((h, i) =>
              [h, p.day[i]].map((w, j) => (
                <tr>
                  <td>{j === 0 ? <a href={withQuery("/console/transactions", { portal: w.portal })}>{w.portal}</a> : ""}</td>
                  <td>{j === 0 ? "1 hour" : "24 hours"}</td>
                  <td class="num">{w.calls}</td>
                  <td class={`num ${w.successRate !== null && w.successRate < 0.8 ? "bad" : ""}`}>{pct(w.successRate)}</td>
                  <td class="num">{ms(w.p50)}</td>
                  <td class="num">{ms(w.p95)}</td>
                  <td>
                    {w.lastError ? (
                      <span>
                        {ist(w.lastError.at)} · {w.lastError.operation} · {w.lastError.outcome}
                        {w.lastError.httpStatus ? ` ${w.lastError.httpStatus}` : ""}
                        {w.lastError.errorCode ? ` ${w.lastError.errorCode}` : ""}
                      </span>
                    ) : (
                      <span class="muted">none</span>
                    )}
                  </td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      </div>

      <h2>Funds per head of account</h2>
      {p.funds.heads.length ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Tenant</th>
                <th>Head of account</th>
                <th class="num">Allotted</th>
                <th class="num">Withdrawn</th>
                <th class="num">Committed</th>
                <th class="num">Available</th>
              </tr>
            </thead>
            <tbody>
              {p.funds.heads.map((h) => (
                <tr>
                  <td>{h.tenantId}</td>
                  <td>{h.headOfAccount}</td>
                  <td class="num">{rupees(h.allotted)}</td>
                  <td class="num">{rupees(h.withdrawn)}</td>
                  <td class="num">{rupees(h.committed)}</td>
                  <td class="num">{rupees(h.available)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">
            From the funds summary projection (each account's Durable Object is the truth; the projection follows it). Summed over SSUs.
          </p>
        </div>
      ) : (
        <p class="muted">No funds accounts yet.</p>
      )}
    </>
  );
};
