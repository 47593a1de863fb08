import type { FC } from "hono/jsx";
import type { ClaimsCell } from "./ops/overview";
import { CLAIM_STATUSES } from "../storage/schema/claims";

export const STATUS_COLOURS: Record<string, string> = {
  SCHEDULED: "#8a94a6",
  QUEUED: "#3a7bd5",
  PENDING: "#e0a526",
  ACCEPTED: "#2e8b57",
  REJECTED: "#c0392b",
  FAILED: "#7b1f24",
  CANCELLED: "#b0b7c3",
};

/** Claims per period as stacked bars by status, inline SVG (no script, no CDN); scales to its box. */
export const ClaimsChart: FC<{ periods: string[]; cells: ClaimsCell[] }> = ({ periods, cells }) => {
  if (periods.length === 0) {
    return (
      <svg
        viewBox="0 0 640 60"
        width="100%"
        role="img"
        aria-label="Claims per period and status: no claims yet"
        style="max-width:720px;background:#fff;border:1px solid #e3e8ee;border-radius:8px"
      >
        <text x="320" y="35" font-size="14" text-anchor="middle" fill="#6a7685">
          No claims yet
        </text>
      </svg>
    );
  }
  const W = 640;
  const H = 260;
  const left = 44;
  const bottom = 34;
  const top = 12;
  const plotH = H - bottom - top;
  const totals = periods.map((p) => cells.filter((c) => c.period === p).reduce((n, c) => n + c.count, 0));
  const max = Math.max(1, ...totals);
  const slot = (W - left - 10) / periods.length;
  const barW = Math.min(70, slot * 0.6);
  const ticks = [...new Set([0, Math.ceil(max / 2), max])];
  return (
    <figure style="margin:0">
      <svg
        viewBox={`0 0 ${W} ${H + 26}`}
        width="100%"
        role="img"
        aria-labelledby="claims-chart-title"
        style="max-width:720px;background:#fff;border:1px solid #e3e8ee;border-radius:8px"
      >
        <title id="claims-chart-title">Claims per period and status</title>
        {ticks.map((t) => {
          const y = top + plotH - (t / max) * plotH;
          return (
            <g>
              <line x1={left} x2={W - 6} y1={y} y2={y} stroke="#e3e8ee" />
              <text x={left - 6} y={y + 4} font-size="11" text-anchor="end" fill="#6a7685">
                {t}
              </text>
            </g>
          );
        })}
        {periods.map((p, i) => {
          let y = top + plotH;
          const x = left + i * slot + (slot - barW) / 2;
          return (
            <g>
              {CLAIM_STATUSES.map((s) => {
                const cell = cells.find((c) => c.period === p && c.status === s);
                if (!cell || cell.count === 0) return null;
                const h = (cell.count / max) * plotH;
                y -= h;
                return (
                  <rect x={x} y={y} width={barW} height={h} fill={STATUS_COLOURS[s]}>
                    <title>{`${p} ${s}: ${cell.count}`}</title>
                  </rect>
                );
              })}
              <text x={x + barW / 2} y={top + plotH + 16} font-size="12" text-anchor="middle" fill="#1c2430">
                {p}
              </text>
              <text x={x + barW / 2} y={y - 4} font-size="11" text-anchor="middle" fill="#1c2430">
                {totals[i]}
              </text>
            </g>
          );
        })}
        {CLAIM_STATUSES.map((s, i) => (
          <g>
            <rect x={left + i * 84} y={H + 6} width="10" height="10" fill={STATUS_COLOURS[s]} />
            <text x={left + i * 84 + 14} y={H + 15} font-size="10.5" fill="#1c2430">
              {s}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
};

export interface Series {
  label: string;
  colour: string;
  points: { t: number; v: number }[];
}

/**
 * Backlogs over the last 24 hours as lines (inline SVG, no script): time along the bottom in IST
 * hours, depth up the side. Each series also gets a text summary for screen readers.
 */
export const BacklogChart: FC<{ series: Series[]; now: number }> = ({ series, now }) => {
  const W = 640;
  const H = 220;
  const left = 44;
  const right = 10;
  const top = 12;
  const bottom = 30;
  const from = now - 86_400_000;
  const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.v)));
  const x = (t: number) => left + ((t - from) / 86_400_000) * (W - left - right);
  const y = (v: number) => top + (H - top - bottom) * (1 - v / max);
  const ticks = [...new Set([0, Math.ceil(max / 2), max])];
  const hours = [0, 6, 12, 18, 24].map((h) => from + h * 3_600_000);
  const istHour = (t: number) =>
    `${String(new Date(t + 19_800_000).getUTCHours()).padStart(2, "0")}:${String(new Date(t + 19_800_000).getUTCMinutes()).padStart(2, "0")}`;
  const summary = series.map((s) => `${s.label}: now ${s.points.at(-1)?.v ?? 0}, most ${Math.max(0, ...s.points.map((p) => p.v))}`).join("; ");
  return (
    <figure style="margin:0">
      <svg
        viewBox={`0 0 ${W} ${H + 22}`}
        width="100%"
        role="img"
        aria-labelledby="backlog-chart-title backlog-chart-desc"
        style="max-width:720px;background:#fff;border:1px solid #e3e8ee;border-radius:8px"
      >
        <title id="backlog-chart-title">Backlogs over the last 24 hours</title>
        <desc id="backlog-chart-desc">{summary}</desc>
        {ticks.map((t) => (
          <g>
            <line x1={left} x2={W - right} y1={y(t)} y2={y(t)} stroke="#e3e8ee" />
            <text x={left - 6} y={y(t) + 4} font-size="11" text-anchor="end" fill="#5d6977">
              {t}
            </text>
          </g>
        ))}
        {hours.map((t) => (
          <text x={x(t)} y={H - bottom + 16} font-size="11" text-anchor="middle" fill="#5d6977">
            {istHour(t)}
          </text>
        ))}
        {series.map((s) =>
          s.points.length === 1 ? (
            <circle cx={x(s.points[0].t)} cy={y(s.points[0].v)} r="3" fill={s.colour} />
          ) : (
            <polyline
              fill="none"
              stroke={s.colour}
              stroke-width="2"
              points={s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ")}
            >
              <title>{s.label}</title>
            </polyline>
          ),
        )}
        {series.map((s, i) => (
          <g>
            <rect x={left + i * 120} y={H + 4} width="10" height="10" fill={s.colour} />
            <text x={left + i * 120 + 14} y={H + 13} font-size="10.5" fill="#1c2430">
              {s.label}
            </text>
          </g>
        ))}
      </svg>
      <figcaption class="muted">Sampled every 15 minutes by the cron; times in IST.</figcaption>
    </figure>
  );
};
