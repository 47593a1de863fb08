import type { FC } from "hono/jsx";
import { ist, json } from "../components";

/** Sections every detail page shares: the audit trail, the dead letters and the transaction log of one subject. */
export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export const AuditTrail: FC<{ rows: AuditRow[] }> = ({ rows }) => (
  <>
    <h2>Audit trail</h2>
    {rows.length ? (
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Before → after</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr>
                <td>{ist(a.at)}</td>
                <td>{a.actor}</td>
                <td>{a.action}</td>
                <td>
                  <code>{json(a.before)}</code> → <code>{json(a.after)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    ) : (
      <p class="muted">No operator or admin has acted on it.</p>
    )}
  </>
);

export interface DeadLetterRef {
  id: string;
  kind: string;
  reason: string | null;
  createdAt: string;
  replayCount: number;
}

export const DeadLetterRefs: FC<{ rows: DeadLetterRef[] }> = ({ rows }) =>
  rows.length ? (
    <>
      <h2>Dead letters</h2>
      <ul>
        {rows.map((d) => (
          <li>
            <a href={`/console/dead-letters/${encodeURIComponent(d.id)}`}>{ist(d.createdAt)}</a> · {d.kind} · {d.reason ?? ""} · replayed{" "}
            {d.replayCount}×
          </li>
        ))}
      </ul>
    </>
  ) : null;

export interface CallRef {
  id: number;
  at: string;
  portal: string;
  operation: string;
  outcome: string;
  httpStatus: number | null;
  durationMs: number;
  requestId: string | null;
}

export const CallRefs: FC<{ rows: CallRef[]; title?: string }> = ({ rows, title = "Calls to the portal (transaction log)" }) => (
  <>
    <h2>{title}</h2>
    {rows.length ? (
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Portal</th>
              <th scope="col">Operation</th>
              <th scope="col">Outcome</th>
              <th scope="col" class="num">
                HTTP
              </th>
              <th scope="col" class="num">
                Duration
              </th>
              <th scope="col">Request</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr>
                <td>
                  <a href={`/console/transactions/${t.id}`}>{ist(t.at)}</a>
                </td>
                <td>{t.portal}</td>
                <td>{t.operation}</td>
                <td class={t.outcome === "ok" ? "ok" : "bad"}>{t.outcome}</td>
                <td class="num">{t.httpStatus ?? "–"}</td>
                <td class="num">{t.durationMs} ms</td>
                <td>{t.requestId ? <a href={`/console/requests/${encodeURIComponent(t.requestId)}`}>{t.requestId}</a> : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    ) : (
      <p class="muted">None recorded.</p>
    )}
  </>
);
