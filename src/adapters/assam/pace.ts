import type { Env } from "../../env";

/** The RatePacer instance that paces every request toward the Assam portal, across all consumers. */
export const ASSAM_PACER = "assam";

export interface PaceGrant {
  granted: boolean;
  /** How long to wait before sending (granted), or until a slot would be free (not granted). */
  waitMs: number;
}

/**
 * Reserves a send slot at `maxRps` toward the portal and waits for it when the wait is at most
 * `maxWaitMs`. Answers `granted: false` (nothing reserved) when the wait would be longer.
 */
export async function paceAssam(env: Env, maxRps: number, maxWaitMs: number): Promise<PaceGrant> {
  const pacer = env.RATE_PACER.get(env.RATE_PACER.idFromName(ASSAM_PACER), { locationHint: "apac" });
  const grant = await pacer.acquire(maxRps, maxWaitMs);
  if (grant.granted && grant.waitMs > 0) await new Promise((r) => setTimeout(r, grant.waitMs));
  return grant;
}
