import type { FC } from "hono/jsx";
import { Csrf, Flash, ReadOnly } from "../layout";
import { can, type ConsoleRole } from "../roles";
import { Facts, ist } from "../components";
import type { DeadLetterRow, SubjectState } from "../ops/dead-letters";
import { subjectText } from "./dead-letters";

export const DuplicateWarning: FC = () => (
  <p class="warn">
    <strong>Replaying may deliver the same work twice.</strong> A claim goes back to QUEUED and its stored bytes are sent again (the portal
    de-duplicates on its submission id); a fiscal message's stored signed bytes are sent again. Check the subject's current status first: only FAILED
    work is replayed, and a claim that failed on the portal's 409 is never re-sent.
  </p>
);

export const DeadLetterDetail: FC<{
  row: DeadLetterRow;
  subject: SubjectState;
  body: string;
  csrf: string;
  role: ConsoleRole;
  ok?: string;
  error?: string;
}> = (p) => (
  <>
    <Flash ok={p.ok} error={p.error} />
    <Facts
      rows={[
        ["Id", p.row.id],
        ["Recorded", ist(p.row.createdAt)],
        ["Queue", p.row.queue],
        ["Kind", p.row.kind],
        ["Subject", p.row.subjectId ? <a href={`/console/find?q=${encodeURIComponent(p.row.subjectId)}`}>{p.row.subjectId}</a> : "–"],
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
    {can(p.role, "dead_letter.replay") ? (
      <>
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
      </>
    ) : (
      <ReadOnly role={p.role} needs="operator" />
    )}
    <p>
      <a href="/console/dead-letters">← all dead letters</a>
    </p>
  </>
);
