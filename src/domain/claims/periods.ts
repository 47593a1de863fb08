/**
 * Claim periods are months (YYYY-MM) in India Standard Time (UTC+05:30, no DST). "A period has
 * ended" means its last day is over in IST: the cut-off cron fires at 20:30 UTC on the last day of
 * the UTC month, which is already 02:00 IST on the 1st of the next month.
 */
export const IST_OFFSET_MS = 330 * 60_000;
export const PERIOD_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

const index = (period: string): number => {
  const m = PERIOD_RE.exec(period);
  if (!m) throw new RangeError(`not a period: ${period}`);
  return Number(m[1]) * 12 + Number(m[2]) - 1;
};
const fromIndex = (i: number): string => `${String(Math.floor(i / 12)).padStart(4, "0")}-${String((i % 12) + 1).padStart(2, "0")}`;

/** The month it is now in IST. */
export function currentIstPeriod(now: number = Date.now()): string {
  const d = new Date(now + IST_OFFSET_MS);
  return fromIndex(d.getUTCFullYear() * 12 + d.getUTCMonth());
}

/** The latest period that has ended in IST. */
export function lastEndedPeriod(now: number = Date.now()): string {
  return fromIndex(index(currentIstPeriod(now)) - 1);
}

export const periodEnded = (period: string, now: number = Date.now()): boolean => index(period) < index(currentIstPeriod(now));

export const previousPeriod = (period: string): string => fromIndex(index(period) - 1);

/** First and last day of the month (seed 000 period.start / period.end). */
export function periodBounds(period: string): { start: string; end: string } {
  const i = index(period);
  const y = Math.floor(i / 12);
  const m = (i % 12) + 1;
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const mm = String(m).padStart(2, "0");
  return { start: `${y}-${mm}-01`, end: `${y}-${mm}-${String(last).padStart(2, "0")}` };
}

/** ISO 8601 in IST with the +05:30 offset, to the second (seed 000 generated_at). */
export function istIso(at: number = Date.now()): string {
  return `${new Date(at + IST_OFFSET_MS).toISOString().slice(0, 19)}+05:30`;
}

/**
 * The latest monthly cut-off moment at or before `now`: 02:00 IST on the 1st (20:30 UTC on the
 * last day of the previous month), and the last period it covered.
 */
export function lastCutoff(now: number = Date.now()): { at: number; upTo: string } {
  const ist = new Date(now + IST_OFFSET_MS);
  let y = ist.getUTCFullYear();
  let m = ist.getUTCMonth();
  let at = Date.UTC(y, m, 1, 2, 0) - IST_OFFSET_MS;
  if (at > now) {
    m -= 1;
    if (m < 0) {
      m = 11;
      y -= 1;
    }
    at = Date.UTC(y, m, 1, 2, 0) - IST_OFFSET_MS;
  }
  return { at, upTo: lastEndedPeriod(at) };
}
