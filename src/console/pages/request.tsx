import type { FC } from "hono/jsx";
import type { requestDetail } from "../ops/find";
import { AuditTrail, CallRefs } from "./history";

type Detail = Awaited<ReturnType<typeof requestDetail>>;

export const RequestPage: FC<{ requestId: string; d: Detail }> = ({ requestId, d }) => (
  <>
    <p class="muted">
      Everything the gateway kept about request <code>{requestId}</code>: each call it made to a portal (the transaction log) and each audit row it
      wrote. Log lines themselves are in Workers Logs, searchable by the same request id.
    </p>
    <CallRefs rows={d.calls} title="Upstream calls it made" />
    <AuditTrail rows={d.audit} />
  </>
);
