import { MAX_DELAY_SECONDS } from "../../lib/retry-after";
export { MAX_DELAY_SECONDS, parseRetryAfter } from "../../lib/retry-after";

/**
 * Exponential backoff with full jitter: a random delay in [0, base × 2^(attempt−1)], capped at 12 h,
 * never shorter than the portal's Retry-After. `attempt` counts the failed attempts so far (1 = first).
 */
export function backoffMs(attempt: number, baseMs: number, retryAfterMs?: number | null, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_SECONDS * 1000, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  const jittered = Math.floor(random() * ceiling);
  return Math.min(MAX_DELAY_SECONDS * 1000, Math.max(jittered, retryAfterMs ?? 0));
}

/** The queue's delaySeconds for a delay in ms (whole seconds, rounded up, clamped to the Queues limit). */
export const toDelaySeconds = (ms: number): number => Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(ms / 1000)));

/**
 * The queue's delaySeconds for a retry: the jittered backoff rounded to the nearest second (Queues
 * take whole seconds, and rounding keeps the jitter's mean), never below the portal's Retry-After.
 */
export function retryDelaySeconds(attempt: number, baseMs: number, retryAfterMs?: number | null, random: () => number = Math.random): number {
  const jittered = backoffMs(attempt, baseMs, null, random);
  const floor = retryAfterMs ? Math.ceil(retryAfterMs / 1000) : 0;
  return Math.min(MAX_DELAY_SECONDS, Math.max(Math.round(jittered / 1000), floor));
}
