import type { FC } from "hono/jsx";
import { Facts, ist } from "../components";
import type { fiscalMessageDetail } from "../ops/find";
import { AuditTrail, CallRefs, DeadLetterRefs } from "./history";

type Detail = NonNullable<Awaited<ReturnType<typeof fiscalMessageDetail>>>;

export const FiscalMessagePage: FC<{ d: Detail }> = ({ d }) => {
  const m = d.message;
  return (
    <>
      <Facts
        caption="The fiscal message"
        rows={[
          ["Message id", m.id],
          ["Type / action", `${m.type} / ${m.action}`],
          ["Status (iFIX)", <strong>{m.status}</strong>],
          ["Status message", m.statusMessage ?? "–"],
          [
            "Delivery",
            `${m.deliveryStatus}, ${m.attempts} attempt${m.attempts === 1 ? "" : "s"}${m.lastHttpStatus ? `, last HTTP ${m.lastHttpStatus}` : ""}${m.lastError ? `, last error: ${m.lastError}` : ""}`,
          ],
          ["Transaction id", m.transactionId ?? "–"],
          ["Linked id", m.linkedId ?? "–"],
          ["Updates message", m.parentId ? <a href={`/console/fiscal-messages/${encodeURIComponent(m.parentId)}`}>{m.parentId}</a> : "–"],
          ["Payment instruction", m.piId ? <a href={`/console/payment-instructions/${encodeURIComponent(m.piId)}`}>{m.piId}</a> : "–"],
          ["Owner (client)", m.ownerId],
          ["Created", ist(m.createdAt)],
          ["Delivered", ist(m.deliveredAt) || "–"],
          ["Last change", ist(m.updatedAt)],
        ]}
      />
      <p class="muted">The signed body is not shown: it is encrypted at rest and may name individuals.</p>
      <h2>Callbacks from iFIX</h2>
      {d.callbacks.length ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Message</th>
                <th scope="col">Matched by</th>
                <th scope="col">Callback id</th>
              </tr>
            </thead>
            <tbody>
              {d.callbacks.map((cb) => (
                <tr>
                  <td>{ist(cb.receivedAt)}</td>
                  <td>{cb.type}</td>
                  <td>{cb.statusCode ?? "–"}</td>
                  <td>{cb.statusMessage ?? ""}</td>
                  <td>{cb.matchedBy ?? "–"}</td>
                  <td>
                    {cb.senderId}: {cb.messageId}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted">No callback has answered it yet.</p>
      )}
      <DeadLetterRefs rows={d.deadLetters} />
      <CallRefs rows={d.calls} />
      <AuditTrail rows={d.audit} />
    </>
  );
};
