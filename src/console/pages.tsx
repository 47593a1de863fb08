import type { FC } from "hono/jsx";
import { Csrf, Flash, rupees, withQuery } from "./layout";
import { ClaimsChart, STATUS_COLOURS } from "./chart";
import type { ClaimsCell, FundsRow, PortalHealth } from "./ops/overview";
import type { DeadLetterRow, SubjectState } from "./ops/dead-letters";
import type { ReconciliationRow } from "./ops/reconciliation";
import { CLAIM_STATUSES } from "../storage/schema/claims";
import { PI_STATUSES } from "../storage/schema/payment-instructions";
import { rupeesToPaise } from "../lib/money";
import { IST_OFFSET_MS } from "../domain/claims/periods";

/** The from/to pair of a filter form, entered in IST (the route converts it to UTC). */
const IstRange = ({ from, to }: { from?: string; to?: string }) => (
  <>
    <label>
      From (IST)
      <input type="datetime-local" name="from" value={from ?? ""} />
    </label>
    <label>
      To (IST)
      <input type="datetime-local" name="to" value={to ?? ""} />
    </label>
  </>
);

/** Times are stored in UTC; operators read IST. */
export const ist = (iso: string | null | undefined) => {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t + IST_OFFSET_MS).toISOString().slice(0, 19).replace("T", " ")} IST`;
};
const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)}%`);
const ms = (x: number | null) => (x === null ? "–" : `${x} ms`);

/** A record shown as label / value rows (the detail pages). */
const Facts: FC<{ rows: [string, string][] }> = ({ rows }) => (
  <table>
    <tbody>
      {rows.map(([k, v]) => (
        <tr>
          <th>{k}</th>
          <td>{v}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

/** The keyset pager under a list: the same filter, one page further back. */
const Older: FC<{ path: string; q: Record<string, string>; next: string | null }> = ({ path, q, next }) => (
  <div class="pager">{next ? <a href={withQuery(path, { ...q, before: next })}>Older →</a> : null}</div>
);

export const SignInPage: FC<{ error?: string; notice?: string }> = ({ error, notice }) => (
  <div class="signin">
    <h1>AMRIT gateway console</h1>
    <p class="muted">For NHM IT cell and treasury operators. Sign in with the admin key or an operator client (scope ops).</p>
    <Flash ok={notice} error={error} />
    <form method="post" action="/console/sign-in" autocomplete="off">
      <fieldset>
        <legend>Admin key or operator API key</legend>
        <label>
          Key
          <input type="password" name="key" autocomplete="off" />
        </label>
      </fieldset>
      <fieldset>
        <legend>or operator client credentials</legend>
        <label>
          Client id
          <input type="text" name="clientId" autocomplete="off" />
        </label>
        <label>
          Client secret
          <input type="password" name="clientSecret" autocomplete="off" />
        </label>
      </fieldset>
      <button type="submit">Sign in</button>
    </form>
  </div>
);

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
              <span class="muted">{h.calls} calls, p95 {ms(h.p95)}</span>
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
          <p class="muted">From the funds summary projection (each account's Durable Object is the truth; the projection follows it). Summed over SSUs.</p>
        </div>
      ) : (
        <p class="muted">No funds accounts yet.</p>
      )}
    </>
  );
};

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

export const TransactionsPage: FC<{ q: Record<string, string>; items: TxItem[]; next: string | null; error?: string }> = ({ q, items, next, error }) => (
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

export const TransactionDetail: FC<{ t: TxItem }> = ({ t }) => (
  <>
    <Facts
      rows={[
        ["When", ist(t.at)],
        ["Portal", t.portal],
        ["Operation", t.operation],
        ["Outcome", t.outcome],
        ["HTTP status", String(t.httpStatus ?? "–")],
        ["Error code", t.errorCode ?? "–"],
        ["Duration", `${t.durationMs} ms`],
        ["Attempt", String(t.attempt)],
        ["Subject", t.subjectId ?? "–"],
        ["Request id", t.requestId ?? "–"],
        ["Tracker", t.tracker ?? "–"],
      ]}
    />
    <h2>Request body (redacted)</h2>
    {t.requestBody ? <pre>{t.requestBody}</pre> : <p class="muted">Not kept (UMANG bodies are never stored).</p>}
    <h2>Response body (redacted)</h2>
    {t.responseBody ? <pre>{t.responseBody}</pre> : <p class="muted">Not kept.</p>}
    <p>
      <a href="/console/transactions">← all calls</a>
    </p>
  </>
);

const subjectText = (s: SubjectState) => (s.status ? `${s.status}${s.detail ? ` · ${s.detail}` : ""}` : "unknown");

export const DeadLettersPage: FC<{
  q: Record<string, string>;
  kinds?: string[];
  items: { row: DeadLetterRow; subject: SubjectState }[];
  next: string | null;
  csrf: string;
  ok?: string;
  error?: string;
}> = ({ q, kinds = [], items, next, csrf, ok, error }) => (
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
    {items.length ? (
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

const DuplicateWarning: FC = () => (
  <p class="warn">
    <strong>Replaying may deliver the same work twice.</strong> A claim goes back to QUEUED and its stored bytes are sent again (the portal
    de-duplicates on its submission id); a fiscal message's stored signed bytes are sent again. Check the subject's current status first:
    only FAILED work is replayed, and a claim that failed on the portal's 409 is never re-sent.
  </p>
);

export const DeadLetterDetail: FC<{ row: DeadLetterRow; subject: SubjectState; body: string; csrf: string; ok?: string; error?: string }> = (p) => (
  <>
    <Flash ok={p.ok} error={p.error} />
    <Facts
      rows={[
        ["Id", p.row.id],
        ["Recorded", ist(p.row.createdAt)],
        ["Queue", p.row.queue],
        ["Kind", p.row.kind],
        ["Subject", p.row.subjectId ?? "–"],
        ["Subject now", subjectText(p.subject)],
        ["Reason", p.row.reason ?? "–"],
        ["Replays", `${p.row.replayCount}${p.row.replayedAt ? ` (last ${ist(p.row.replayedAt)})` : ""}`],
      ]}
    />
    <h2>Message (redacted)</h2>
    <pre>{p.body}</pre>
    <h2>Replay</h2>
    {p.subject.status !== null && p.subject.status !== "FAILED" && p.subject.detail !== "delivery FAILED" ? (
      <p class="muted">
        The subject is {subjectText(p.subject)}, not FAILED: there is nothing to replay (a replay would be refused as a possible duplicate).
      </p>
    ) : null}
    <DuplicateWarning />
    <form method="post" action={`/console/dead-letters/${encodeURIComponent(p.row.id)}/replay`}>
      <Csrf token={p.csrf} />
      <label style="flex-direction:row;gap:.4rem;align-items:center;margin-bottom:.5rem">
        <input type="checkbox" name="confirm" value="yes" required /> I have checked the subject and want it sent again
      </label>
      <button type="submit" class="danger">
        Replay this dead letter
      </button>
    </form>
    <p>
      <a href="/console/dead-letters">← all dead letters</a>
    </p>
  </>
);

export const BulkReplayConfirm: FC<{ filter: Record<string, string>; count: number; max: number; csrf: string }> = ({ filter, count, max, csrf }) => (
  <>
    <DuplicateWarning />
    <p>
      This filter selects <strong>{count}</strong> dead letter{count === 1 ? "" : "s"}
      {count > max ? `; the first ${max} (newest first) are replayed in this run` : ""}. Each goes through its own area's rule; refusals are listed
      afterwards.
    </p>
    <p class="muted">Filter: {Object.entries(filter).map(([k, v]) => `${k}=${v}`).join(", ") || "all open dead letters"}</p>
    <form method="post" action="/console/dead-letters/replay">
      <Csrf token={csrf} />
      {Object.entries(filter).map(([k, v]) => (
        <input type="hidden" name={k} value={v} />
      ))}
      <input type="hidden" name="confirm" value="yes" />
      <button type="submit" class="danger">
        Yes, replay {Math.min(count, max)}
      </button>{" "}
      <a class="button secondary" href={withQuery("/console/dead-letters", filter)}>
        Cancel
      </a>
    </form>
  </>
);

export const BulkReplayResult: FC<{ results: { id: string; ok: boolean; outcome: string; message: string }[] }> = ({ results }) => (
  <>
    <p class="flash">
      {results.filter((r) => r.ok).length} replayed, {results.filter((r) => !r.ok).length} refused.
    </p>
    <table>
      <thead>
        <tr>
          <th>Dead letter</th>
          <th>Result</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        {results.map((r) => (
          <tr>
            <td>
              <a href={`/console/dead-letters/${encodeURIComponent(r.id)}`}>{r.id}</a>
            </td>
            <td class={r.ok ? "ok" : "bad"}>{r.ok ? "replayed" : r.outcome}</td>
            <td>{r.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
    <p>
      <a href="/console/dead-letters">← dead letters</a>
    </p>
  </>
);

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
    <p class="muted">All clients' claims for the period, from the claims ledger (CONTRACT §8); the same figures as GET /v1/reports/claims summed over clients.</p>
  </>
);

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

const json = (v: unknown) => (v === null || v === undefined ? "–" : JSON.stringify(v));

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

export interface StuckPi {
  piId: string;
  paymentId: string;
  tenantId: string;
  headOfAccount: string | null;
  ssuCode: string | null;
  /** Rupees, as the funds area's list answers it. */
  amount: number;
  status: string;
  delivery: { messageId: string; status: string; deliveryStatus: string; attempts: number; lastError: string | null } | null;
  updatedAt: string;
}

export const PaymentsPage: FC<{ scope: string; items: StuckPi[]; csrf: string; ok?: string; error?: string }> = (p) => (
  <>
    <p class="muted">
      Payment instructions still committing funds after an ambiguous disburse delivery (dead-lettered, failed, rejected or timed out). Their funds
      stay committed until iFIX reports a status or an operator sets one here; FAILED gives the amount back to the account exactly once.
    </p>
    <form class="filters" method="get" action="/console/payments">
      <label>
        Show
        <select name="scope">
          <option value="stuck" selected={p.scope !== "all"}>
            stuck after an ambiguous delivery
          </option>
          <option value="all" selected={p.scope === "all"}>
            every payment instruction
          </option>
        </select>
      </label>
      <button type="submit">Show</button>
    </form>
    <Flash ok={p.ok} error={p.error} />
    {p.items.length === 0 ? <p class="muted">Nothing stuck.</p> : null}
    {p.items.map((pi) => (
      <PiCard pi={pi} csrf={p.csrf} />
    ))}
  </>
);

const FINAL_PI = ["SUCCESSFUL", "COMPLETED", "FAILED"];

const PiCard: FC<{ pi: StuckPi; csrf: string }> = ({ pi, csrf }) => (
      <div class="card" style="margin-bottom:.7rem">
        <div>
          <strong>{pi.piId}</strong> · payment {pi.paymentId} · {rupees(rupeesToPaise(pi.amount) ?? 0)} · <b style="display:inline;font-size:1rem">{pi.status}</b>
        </div>
        <div class="muted">
          {pi.tenantId} / {pi.headOfAccount ?? "?"} / {pi.ssuCode ?? "?"} ·{" "}
          {pi.delivery
            ? `disburse message ${pi.delivery.messageId}: delivery ${pi.delivery.deliveryStatus}, status ${pi.delivery.status}, ${pi.delivery.attempts} attempts${pi.delivery.lastError ? `, last error: ${pi.delivery.lastError}` : ""}`
            : "no disburse message yet"}{" "}
          · updated {ist(pi.updatedAt)}
        </div>
        {FINAL_PI.includes(pi.status) ? null : (
        <form method="post" action={`/console/payments/${encodeURIComponent(pi.piId)}/status`} class="filters" style="margin:.5rem 0 0">
          <Csrf token={csrf} />
          <label>
            New status
            <select name="status" required>
              {PI_STATUSES.filter((s) => s !== "INITIATED").map((s) => (
                <option value={s}>{s}</option>
              ))}
            </select>
          </label>
          <label style="flex:1 1 16rem">
            Reason (recorded in the audit log)
            <input name="reason" required minlength={3} maxlength={500} placeholder="e.g. IFMS confirms not paid (ref …)" />
          </label>
          <button type="submit" class="danger">
            Set status
          </button>
        </form>
        )}
      </div>
);

export interface AlertItem {
  id: number;
  at: string;
  kind: string;
  subject: string;
  message: string;
  delivery: string;
  httpStatus: number | null;
}

export const AlertsPage: FC<{ items: AlertItem[]; config: { webhook: boolean; failureRate: string; deadLetters: number } }> = ({ items, config }) => (
  <>
    <p class="muted">
      Checked every 15 minutes: an upstream's failure rate over the last 15 minutes at or above {config.failureRate}, or at least{" "}
      {config.deadLetters} open dead letter{config.deadLetters === 1 ? "" : "s"}. An alert is not re-sent within an hour while its condition
      persists. Webhook: {config.webhook ? "configured" : "not configured (ALERT_WEBHOOK_URL): alerts are recorded here only"}.
    </p>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Alert</th>
            <th>Subject</th>
            <th>Message</th>
            <th>Webhook</th>
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr>
              <td>{ist(a.at)}</td>
              <td>{a.kind}</td>
              <td>{a.subject}</td>
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
