import type { Child, FC } from "hono/jsx";
import { withQuery } from "./layout";
import { IST_OFFSET_MS } from "../domain/claims/periods";

/** Times are stored in UTC; operators read IST. */
export const ist = (iso: string | number | null | undefined) => {
  if (iso === null || iso === undefined || iso === "") return "";
  const t = typeof iso === "number" ? iso : Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  return `${new Date(t + IST_OFFSET_MS).toISOString().slice(0, 19).replace("T", " ")} IST`;
};

/** "3 h 20 min", "45 s": how long ago or how long until, for ages and expiries. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)}%`);
export const ms = (x: number | null) => (x === null ? "–" : `${x} ms`);
export const json = (v: unknown) => (v === null || v === undefined ? "–" : JSON.stringify(v));

/** A record shown as label / value rows (the detail pages). */
export const Facts: FC<{ rows: [string, Child][]; caption?: string }> = ({ rows, caption }) => (
  <table class="facts">
    {caption ? <caption class="sr">{caption}</caption> : null}
    <tbody>
      {rows.map(([k, v]) => (
        <tr>
          <th scope="row">{k}</th>
          <td>{v}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

/** The keyset pager under a list: the same filter, one page further back. */
export const Older: FC<{ path: string; q: Record<string, string>; next: string | null }> = ({ path, q, next }) => (
  <div class="pager">{next ? <a href={withQuery(path, { ...q, before: next })}>Older →</a> : null}</div>
);

/** The from/to pair of a filter form, entered in IST (the route converts it to UTC). */
export const IstRange = ({ from, to }: { from?: string; to?: string }) => (
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

/** A table that scrolls sideways on a phone instead of widening the page. */
export const Scroll: FC<{ children?: Child }> = ({ children }) => <div class="scroll">{children}</div>;
