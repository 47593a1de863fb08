import type { FC } from "hono/jsx";
import { Flash } from "../layout";
import { IstRange, Older, ist } from "../components";

export interface TxItem {
  id: number;
  at: string;
  portal: string;
  operation: string;
  subjectId: string | null;
  requestId: string | null;
  tracker: string | null;
  attempt: number;
  outcome: string;
  httpStatus: number | null;
  durationMs: number;
  errorCode: string | null;
  requestBody: string | null;
  responseBody: string | null;
}

export const TransactionsPage: FC<{ q: Record<string, string>; items: TxItem[]; next: string | null; error?: string }> = ({
  q,
  items,
  next,
  error,
}) => (
  <>
    <form class="filters" method="get" action="/console/transactions">
      <label>
        Portal
        <select name="portal">
          {["", "assam", "umang", "ifix", "webhook"].map((v) => (
            <option value={v} selected={q.portal === v}>
              {v || "any"}
            </option>
          ))}
        </select>
      </label>
      <label>
        Outcome
        <select name="outcome">
          {["", "failures", "ok", "rejected", "retry", "failed", "timeout", "network"].map((v) => (
            <option value={v} selected={q.outcome === v}>
              {v || "any"}
            </option>
          ))}
        </select>
      </label>
      <label>
        Operation
        <input name="operation" value={q.operation ?? ""} placeholder="e.g. submit" />
      </label>
      <label>
        Subject id
        <input name="subjectId" value={q.subjectId ?? ""} placeholder="claim / message id" />
      </label>
      <label>
        Request id
        <input name="requestId" value={q.requestId ?? ""} />
      </label>
      <IstRange from={q.from} to={q.to} />
      <button type="submit">Search</button>
      <a class="button secondary" href="/console/transactions">
        Clear
      </a>
    </form>
    <Flash error={error} />
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Portal</th>
            <th>Operation</th>
            <th>Outcome</th>
            <th class="num">HTTP</th>
            <th class="num">Duration</th>
            <th class="num">Attempt</th>
            <th>Subject</th>
            <th>Request id</th>
          </tr>
        </thead>
        <tbody>
          {items.map((t) => (
            <tr>
              <td>
                <a href={`/console/transactions/${t.id}`}>{ist(t.at)}</a>
              </td>
              <td>{t.portal}</td>
              <td>{t.operation}</td>
              <td class={t.outcome === "ok" ? "ok" : "bad"}>
                {t.outcome}
                {t.errorCode ? ` (${t.errorCode})` : ""}
              </td>
              <td class="num">{t.httpStatus ?? "–"}</td>
              <td class="num">{t.durationMs} ms</td>
              <td class="num">{t.attempt}</td>
              <td>{t.subjectId ?? ""}</td>
              <td>{t.requestId ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    {items.length === 0 ? <p class="muted">No calls match.</p> : null}
    <Older path="/console/transactions" q={q} next={next} />
  </>
);
