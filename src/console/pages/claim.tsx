import type { FC } from "hono/jsx";
import { Csrf, Flash, ReadOnly, rupees } from "../layout";
import { Facts, ist } from "../components";
import { can, type ConsoleRole } from "../roles";
import type { claimDetail } from "../ops/find";
import { RESOLUTIONS, canRefresh, canReplay, canResolve } from "../ops/claim-actions";
import { AuditTrail, CallRefs, DeadLetterRefs } from "./history";

type Detail = NonNullable<Awaited<ReturnType<typeof claimDetail>>>;

export const ClaimPage: FC<{ d: Detail; csrf: string; role: ConsoleRole; ok?: string; error?: string }> = ({ d, csrf, role, ok, error }) => {
  const c = d.claim;
  const path = `/console/claims/${c.id}`;
  const allowed = { refresh: canRefresh(c), replay: canReplay(c), resolve: canResolve(c) };
  const actions = Object.values(allowed).some(Boolean);
  const mine = {
    refresh: allowed.refresh && can(role, "claim.refresh"),
    replay: allowed.replay && can(role, "claim.replay"),
    resolve: allowed.resolve && can(role, "claim.resolve"),
  };
  return (
    <>
      <Flash ok={ok} error={error} />
      <Facts
        caption="The claim"
        rows={[
          ["Claim id", c.id],
          ["Status", <strong>{c.status}</strong>],
          ["ASHA", c.ashaId],
          ["Period", c.period],
          ["Amount", rupees(c.totalPaise)],
          ["Activities", c.items.map((i) => `${i.code} × ${i.count}`).join(", ")],
          ["Catalogue version", c.catalogueVersion ?? "–"],
          ["Portal receipt", c.receipt ?? "none yet"],
          ["Errors", c.errors.length ? c.errors.map((e) => `${e.code}: ${e.message}`).join("; ") : "none"],
          ["Failure", c.failureCode ?? "–"],
          ["Attempts", `${c.attempts} (this cycle ${c.cycleAttempts}); polls ${c.polls}`],
          ["Wire body SHA-256", d.submission ? <code>{d.submission.bodySha256}</code> : "not built yet (scheduled claims are built at delivery)"],
          ["Wire body built", d.submission ? ist(d.submission.generatedAt) : "–"],
          ["Owner (client)", c.ownerId],
          ["Created", ist(c.createdAt)],
          ["Request", c.requestId ? <a href={`/console/requests/${encodeURIComponent(c.requestId)}`}>{c.requestId}</a> : "–"],
          ["Last change", ist(c.updatedAt)],
        ]}
      />

      <h2>Actions</h2>
      {!actions ? (
        <p class="muted">
          A {c.status} claim allows no operator action
          {c.failureCode === "PORTAL_CONFLICT"
            ? " (the portal holds a different payload under this id: replaying the same bytes cannot succeed)"
            : ""}
          .
        </p>
      ) : !Object.values(mine).some(Boolean) ? (
        <ReadOnly role={role} needs="operator" />
      ) : (
        <div class="actions">
          {mine.refresh ? (
            <form method="post" action={`${path}/refresh`}>
              <Csrf token={csrf} />
              <span>Ask the portal for this claim's status now.</span>
              <button type="submit">Refresh from the portal</button>
            </form>
          ) : null}
          {mine.replay ? (
            <form method="post" action={`${path}/replay`}>
              <Csrf token={csrf} />
              <label style="flex-direction:row;gap:.4rem;align-items:center">
                <input type="checkbox" name="confirm" value="yes" required /> Send its stored bytes again (the portal de-duplicates on the submission
                id)
              </label>
              <button type="submit" class="danger">
                Replay (FAILED → QUEUED)
              </button>
            </form>
          ) : null}
          {mine.resolve ? (
            <form method="post" action={`${path}/resolve`}>
              <Csrf token={csrf} />
              <fieldset>
                <legend>Resolve: it failed without a definite answer, so the portal may have recorded it</legend>
                {Object.entries(RESOLUTIONS).map(([value, label]) => (
                  <label style="flex-direction:row;gap:.4rem;align-items:center">
                    <input type="radio" name="resolution" value={value} required /> {label}
                  </label>
                ))}
              </fieldset>
              <label style="flex:1 1 16rem">
                Reason (recorded in the audit log)
                <input name="reason" required minlength={3} maxlength={500} placeholder="e.g. portal helpdesk ticket 123 confirms" />
              </label>
              <button type="submit">Record the resolution</button>
            </form>
          ) : null}
        </div>
      )}

      <h2>Delivery attempts</h2>
      {d.deliveries.length ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Operation</th>
                <th scope="col" class="num">
                  Attempt
                </th>
                <th scope="col">Outcome</th>
                <th scope="col" class="num">
                  HTTP
                </th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {d.deliveries.map((x) => (
                <tr>
                  <td>{ist(x.at)}</td>
                  <td>{x.operation}</td>
                  <td class="num">{x.attempt}</td>
                  <td class={["accepted", "pending"].includes(x.outcome) ? "ok" : "bad"}>{x.outcome}</td>
                  <td class="num">{x.httpStatus ?? "–"}</td>
                  <td class="num">{x.durationMs} ms</td>
                  <td>{x.errorCode ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted">Not sent yet.</p>
      )}

      <h2>Webhooks to AMRIT</h2>
      {d.webhooks.length ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Status change</th>
                <th scope="col">Webhook</th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Last answer</th>
                <th scope="col">Created</th>
                <th scope="col">Delivered</th>
              </tr>
            </thead>
            <tbody>
              {d.webhooks.map((w) => (
                <tr>
                  <td>{w.claimStatus}</td>
                  <td class={w.state === "DELIVERED" ? "ok" : w.state === "FAILED" ? "bad" : ""}>{w.state}</td>
                  <td class="num">{w.attempts}</td>
                  <td>
                    {w.lastHttpStatus ?? ""} {w.lastError ?? ""}
                  </td>
                  <td>{ist(w.createdAt)}</td>
                  <td>{ist(w.deliveredAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted">None (CLAIMS_WEBHOOK_URL unset, or no status change yet).</p>
      )}

      <DeadLetterRefs rows={d.deadLetters} />
      <CallRefs rows={d.calls} />
      <AuditTrail rows={d.audit} />
    </>
  );
};
