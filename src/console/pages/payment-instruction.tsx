import type { FC } from "hono/jsx";
import { rupees } from "../layout";
import { Facts, ist } from "../components";
import type { paymentInstructionDetail } from "../ops/find";
import { AuditTrail } from "./history";

type Detail = NonNullable<Awaited<ReturnType<typeof paymentInstructionDetail>>>;

export const PaymentInstructionPage: FC<{ d: Detail }> = ({ d }) => {
  const r = d.row;
  const v = d.view;
  return (
    <>
      <Facts
        caption="The payment instruction"
        rows={[
          ["PI id", r.piId],
          ["Payment id", r.paymentId],
          ["Status", <strong>{v?.status ?? r.status}</strong>],
          ["Amount", rupees(r.amountPaise)],
          ["Account", `${r.tenantId} / ${r.headOfAccount ?? "?"} / ${r.ssuCode ?? "?"}`],
          ["Beneficiaries", `${r.beneficiaryCount} (names and account codes are shown to the owning client only)`],
          ["Disburse message", <a href={`/console/fiscal-messages/${encodeURIComponent(r.messageId)}`}>{r.messageId}</a>],
          [
            "Delivery",
            v?.delivery
              ? `${v.delivery.deliveryStatus}, status ${v.delivery.status}, ${v.delivery.attempts} attempts${v.delivery.lastError ? `, last error: ${v.delivery.lastError}` : ""}`
              : "–",
          ],
          ["Owner (client)", r.ownerId],
          ["Created", ist(r.createdAt)],
          ["Last change", ist(v?.updatedAt ?? r.updatedAt)],
        ]}
      />
      <p>
        <a href="/console/payments?scope=all">Set its status on the payments page</a> (operators; FAILED gives the amount back to the account once).
      </p>
      <h2>Its log</h2>
      {v ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">From</th>
                <th scope="col">Status</th>
                <th scope="col">Applied</th>
                <th scope="col">Reason</th>
                <th scope="col">Funds released</th>
              </tr>
            </thead>
            <tbody>
              {v.log.map((e) => (
                <tr>
                  <td>{ist(e.at)}</td>
                  <td>{e.source}</td>
                  <td>
                    {e.from ?? "–"} → {e.to}
                  </td>
                  <td class={e.accepted ? "ok" : "bad"}>{e.accepted ? "yes" : "refused"}</td>
                  <td>{e.reason ?? ""}</td>
                  <td>{e.released ? "yes" : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted">
          {r.status === "RESERVED" ? "Still being created: its account has not committed it yet." : "Its account's log could not be read."}
        </p>
      )}
      <AuditTrail rows={d.audit} />
    </>
  );
};
