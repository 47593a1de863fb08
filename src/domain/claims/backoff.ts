import { MAX_DELAY_SECONDS } from "../../lib/retry-after";
export { MAX_DELAY_SECONDS, parseRetryAfter } from "../../lib/retry-after";

/**
 * Exponential backoff with jitter, capped at 12 h, never shorter than the portal's Retry-After.
 * `attempt` counts the failed attempts so far (1 = first). The delay is d + jitter × d with
 * d = base × 2^(attempt−1): between d and 2d, so the first retry waits at least the base (the
 * variable's name promises it) and the mean is 1.5 d. With DELIVERY_MAX_ATTEMPTS attempts the
 * retries span at least base × (2^(attempts−1) − 1): 127 × base for 8 (about 2 h at the 60 s that
 * wrangler.jsonc ships, so an outage of an hour or more fails nothing).
 */
export function backoffMs(attempt: number, baseMs: number, retryAfterMs?: number | null, random: () => number = Math.random): number {
  const cap = MAX_DELAY_SECONDS * 1000;
  const d = Math.min(cap, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  const jittered = Math.min(cap, d + Math.floor(random() * d));
  return Math.min(cap, Math.max(jittered, retryAfterMs ?? 0));
}

/** The queue's delaySeconds for a delay in ms (whole seconds, rounded up, clamped to the Queues limit). */
export const toDelaySeconds = (ms: number): number => Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(ms / 1000)));

/**
 * The queue's delaySeconds for a retry: the backoff in whole seconds (Queues take whole seconds; a
 * sub-second base rounds to the nearest second, keeping the jitter's mean), never below the base
 * when it is a second or more, nor below the portal's Retry-After.
 */
export function retryDelaySeconds(attempt: number, baseMs: number, retryAfterMs?: number | null, random: () => number = Math.random): number {
  const ms = backoffMs(attempt, baseMs, null, random);
  const seconds = ms >= 1000 ? Math.ceil(ms / 1000) : Math.round(ms / 1000);
  const floor = retryAfterMs ? Math.ceil(retryAfterMs / 1000) : 0;
  return Math.min(MAX_DELAY_SECONDS, Math.max(seconds, floor));
}
