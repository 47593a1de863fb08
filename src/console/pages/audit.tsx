import type { FC } from "hono/jsx";
import { Older, ist, json } from "../components";

export interface AuditItem {
  id: number;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export const AuditPage: FC<{ q: Record<string, string>; items: AuditItem[]; next: string | null }> = ({ q, items, next }) => (
  <>
    <form class="filters" method="get" action="/console/audit">
      <label>
        Action
        <input name="action" value={q.action ?? ""} placeholder="dead_letter.replay" />
      </label>
      <label>
        Actor
        <input name="actor" value={q.actor ?? ""} placeholder="admin or client:…" />
      </label>
      <label>
        Target type
        <input name="targetType" value={q.targetType ?? ""} />
      </label>
      <label>
        Target id
        <input name="targetId" value={q.targetId ?? ""} />
      </label>
      <button type="submit">Filter</button>
    </form>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>What</th>
            <th>Target</th>
            <th>Before → after</th>
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr>
              <td>{ist(a.at)}</td>
              <td>{a.actor}</td>
              <td>{a.action}</td>
              <td>
                {a.targetType}
                {a.targetId ? ` ${a.targetId}` : ""}
              </td>
              <td>
                <code>{json(a.before)}</code> → <code>{json(a.after)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    {items.length === 0 ? <p class="muted">No entries match.</p> : null}
    <Older path="/console/audit" q={q} next={next} />
  </>
);
