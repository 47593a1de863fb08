import type { Env } from "../../env";
import type { SlotGrant } from "../../durable-objects/rate-pacer";

/** The RatePacer instance that paces every request toward the Assam portal, across all consumers. */
export const ASSAM_PACER = "assam";

/**
 * What a request is for. Deliveries (and the token fetch) and polls (the sweep's and callers'
 * refreshes) have lanes of their own: polls get a tenth of ASSAM_MAX_RPS (at least one a second),
 * deliveries the rest plus whatever of the polls' share is idle at that moment. So a caller
 * refreshing at its rate limit can never slow deliveries, and a cut-off still runs at the full rate
 * when nothing is being polled. Below 2 a second there is one shared lane.
 */
export type PaceKind = "deliver" | "poll";

export function laneRates(maxRps: number): { deliver: number; poll: number } {
  const rps = Math.max(1, Math.floor(maxRps));
  if (rps < 2) return { deliver: rps, poll: 0 };
  const poll = Math.max(1, Math.floor(rps / 10));
  return { deliver: rps - poll, poll };
}

/**
 * Reserves up to `n` send slots for `kind` at `maxRps` toward the portal in one call to the pacer.
 * Answers one wait per reserved slot (the caller sleeps it before sending) and, when fewer than `n`
 * fit within `maxWaitMs`, how long until the next one would.
 */
export async function reserveAssamSlots(env: Env, kind: PaceKind, maxRps: number, n: number, maxWaitMs: number): Promise<SlotGrant> {
  const pacer = env.RATE_PACER.get(env.RATE_PACER.idFromName(ASSAM_PACER), { locationHint: "apac" });
  const rates = laneRates(maxRps);
  if (kind === "poll" && rates.poll > 0) return pacer.reserve({ lane: "poll", rps: rates.poll, n, maxWaitMs });
  return pacer.reserve({ lane: "deliver", rps: rates.deliver, n, maxWaitMs, borrow: rates.poll > 0 ? { lane: "poll", rps: rates.poll } : undefined });
}

export const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());
