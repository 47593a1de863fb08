import type { FC } from "hono/jsx";
import { Csrf, withQuery } from "../layout";
import { DuplicateWarning } from "./dead-letter";

export const BulkReplayConfirm: FC<{ filter: Record<string, string>; count: number; max: number; csrf: string }> = ({ filter, count, max, csrf }) => (
  <>
    <DuplicateWarning />
    <p>
      This filter selects <strong>{count}</strong> dead letter{count === 1 ? "" : "s"}
      {count > max ? `; the first ${max} (newest first) are replayed in this run` : ""}. Each goes through its own area's rule; refusals are listed
      afterwards.
    </p>
    <p class="muted">
      Filter:{" "}
      {Object.entries(filter)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ") || "all open dead letters"}
    </p>
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
