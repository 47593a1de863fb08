import type { FC } from "hono/jsx";
import { Csrf, Flash, ReadOnly } from "../layout";
import { can, type ConsoleRole } from "../roles";
import { IstRange, Older, ist } from "../components";
import type { DeadLetterRow, SubjectState } from "../ops/dead-letters";

export const subjectText = (s: SubjectState) => (s.status ? `${s.status}${s.detail ? ` · ${s.detail}` : ""}` : "unknown");

export const DeadLettersPage: FC<{
  q: Record<string, string>;
  kinds?: string[];
  items: { row: DeadLetterRow; subject: SubjectState }[];
  next: string | null;
  csrf: string;
  role: ConsoleRole;
  ok?: string;
  error?: string;
}> = ({ q, kinds = [], items, next, csrf, role, ok, error }) => (
  <>
    <datalist id="dead-letter-kinds">
      {kinds.map((k) => (
        <option value={k} />
      ))}
    </datalist>
    <form class="filters" method="get" action="/console/dead-letters">
      <label>
        State
        <select name="state">
          {["open", "replayed", "all"].map((v) => (
            <option value={v} selected={(q.state ?? "open") === v}>
              {v}
            </option>
          ))}
        </select>
      </label>
      <label>
        Kind
        <input name="kind" value={q.kind ?? ""} list="dead-letter-kinds" placeholder="any" />
      </label>
      <label>
        Subject id
        <input name="subjectId" value={q.subjectId ?? ""} />
      </label>
      <IstRange from={q.from} to={q.to} />
      <button type="submit">Filter</button>
    </form>
    <Flash ok={ok} error={error} />
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Queue</th>
            <th>Kind</th>
            <th>Subject</th>
            <th>Subject now</th>
            <th>Reason</th>
            <th class="num">Replays</th>
          </tr>
        </thead>
        <tbody>
          {items.map(({ row, subject }) => (
            <tr>
              <td>
                <a href={`/console/dead-letters/${encodeURIComponent(row.id)}`}>{ist(row.createdAt)}</a>
              </td>
              <td>{row.queue}</td>
              <td>{row.kind}</td>
              <td>{row.subjectId ?? ""}</td>
              <td>{subjectText(subject)}</td>
              <td>{row.reason ?? ""}</td>
              <td class="num">
                {row.replayCount}
                {row.replayedAt ? <span class="muted"> · {ist(row.replayedAt)}</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    {items.length === 0 ? <p class="muted">No dead letters match.</p> : null}
    <Older path="/console/dead-letters" q={q} next={next} />
    {items.length && !can(role, "dead_letter.replay") ? <ReadOnly role={role} needs="operator" /> : null}
    {items.length && can(role, "dead_letter.replay") ? (
      <form method="post" action="/console/dead-letters/replay">
        <Csrf token={csrf} />
        {(["kind", "subjectId", "state", "from", "to"] as const).map((k) => (q[k] ? <input type="hidden" name={k} value={q[k]} /> : null))}
        <button type="submit" class="secondary">
          Replay every dead letter this filter selects…
        </button>
        <span class="muted"> (you confirm on the next page)</span>
      </form>
    ) : null}
  </>
);
