import type { FC } from "hono/jsx";
import { rupees, withQuery } from "../layout";
import type { ReconciliationRow } from "../ops/reconciliation";

export const ReconciliationPage: FC<{ period: string; rows: ReconciliationRow[]; total: ReconciliationRow; periods: string[] }> = (p) => (
  <>
    <form class="filters" method="get" action="/console/reconciliation">
      <label>
        Period
        <input type="month" name="period" value={p.period} required />
      </label>
      <button type="submit">Show</button>
      <a class="button secondary" href={withQuery("/console/reconciliation.csv", { period: p.period })} download={`claims-${p.period}.csv`}>
        Download CSV
      </a>
    </form>
    {p.periods.length ? (
      <p class="muted">
        Periods with claims:{" "}
        {p.periods.map((x) => (
          <>
            <a href={withQuery("/console/reconciliation", { period: x })}>{x}</a>{" "}
          </>
        ))}
      </p>
    ) : null}
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>Status</th>
            <th class="num">Claims</th>
            <th class="num">Amount</th>
          </tr>
        </thead>
        <tbody>
          {p.rows.map((r) => (
            <tr>
              <td>{r.status}</td>
              <td class="num">{r.count}</td>
              <td class="num">{rupees(r.totalPaise)}</td>
            </tr>
          ))}
          <tr>
            <th>Total</th>
            <th class="num">{p.total.count}</th>
            <th class="num">{rupees(p.total.totalPaise)}</th>
          </tr>
        </tbody>
      </table>
    </div>
    <p class="muted">
      All clients' claims for the period, from the claims ledger (CONTRACT §8); the same figures as GET /v1/reports/claims summed over clients.
    </p>
  </>
);
