/** Queues take at most 12 h of delay (delaySeconds ≤ 43200). */
export const MAX_DELAY_SECONDS = 43_200;

/** Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v), MAX_DELAY_SECONDS) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - now), MAX_DELAY_SECONDS * 1000);
}
