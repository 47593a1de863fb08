import type { FC } from "hono/jsx";
import { Facts, ist } from "../components";
import type { TxItem } from "./transactions";

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
