import type { FC } from "hono/jsx";
import { Csrf, Flash, ReadOnly, rupees } from "../layout";
import { can, type ConsoleRole } from "../roles";
import { ist } from "../components";
import { PI_STATUSES } from "../../storage/schema/payment-instructions";
import { rupeesToPaise } from "../../lib/money";

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

export const PaymentsPage: FC<{ scope: string; tenant?: string; items: StuckPi[]; csrf: string; role: ConsoleRole; ok?: string; error?: string }> = (
  p,
) => (
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
      <label>
        Tenant
        <input name="tenant" value={p.tenant ?? ""} maxlength={64} placeholder="every tenant" />
      </label>
      <button type="submit">Show</button>
    </form>
    <Flash ok={p.ok} error={p.error} />
    {p.items.length === 0 ? <p class="muted">Nothing stuck.</p> : null}
    {can(p.role, "payment.status") ? null : <ReadOnly role={p.role} needs="operator" />}
    {p.items.map((pi) => (
      <PiCard pi={pi} csrf={p.csrf} canSet={can(p.role, "payment.status")} />
    ))}
  </>
);

const FINAL_PI = ["SUCCESSFUL", "COMPLETED", "FAILED"];

const PiCard: FC<{ pi: StuckPi; csrf: string; canSet: boolean }> = ({ pi, csrf, canSet }) => (
  <div class="card" style="margin-bottom:.7rem">
    <div>
      <strong>
        <a href={`/console/payment-instructions/${encodeURIComponent(pi.piId)}`}>{pi.piId}</a>
      </strong>{" "}
      · payment {pi.paymentId} · {rupees(rupeesToPaise(pi.amount) ?? 0)} · <b style="display:inline;font-size:1rem">{pi.status}</b>
    </div>
    <div class="muted">
      {pi.tenantId} / {pi.headOfAccount ?? "?"} / {pi.ssuCode ?? "?"} ·{" "}
      {pi.delivery
        ? `disburse message ${pi.delivery.messageId}: delivery ${pi.delivery.deliveryStatus}, status ${pi.delivery.status}, ${pi.delivery.attempts} attempts${pi.delivery.lastError ? `, last error: ${pi.delivery.lastError}` : ""}`
        : "no disburse message yet"}{" "}
      · updated {ist(pi.updatedAt)}
    </div>
    {FINAL_PI.includes(pi.status) || !canSet ? null : (
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
