import type { Context } from "hono";
import type { AppEnv } from "../context";
import { GatewayError } from "../errors";

/** How long an address that went over the failure limit is refused in this isolate. */
export const BLOCK_MS = 60_000;
const MAX_BLOCKED = 10_000;
const blocked = new Map<string, number>();

const rateLimited = () =>
  new GatewayError("RATE_LIMITED", "too many failed sign-ins from this address", { headers: { "Retry-After": String(BLOCK_MS / 1000) } });

/** The caller's address as Cloudflare's edge gives it (absent locally: all share one bucket). */
export const callerAddress = (c: Context<AppEnv>): string => c.req.header("cf-connecting-ip") ?? "unknown";

/**
 * Failed credentials per address (API keys, caller tokens, client secrets, the admin key): each
 * failure is counted by the CREDENTIAL_FAILURE_LIMITER binding (shared across isolates in a
 * location). The binding can only count, not peek, so the isolate that sees an address go over
 * remembers it and refuses its credentials, right or wrong, until BLOCK_MS passes: past the limit
 * a guess tells the guesser nothing.
 */
export function credentialFailures(c: Context<AppEnv>, bucket = "api") {
  const key = `${bucket}:${callerAddress(c)}`;
  return {
    /** 429 when this address is blocked here. */
    refuseIfBlocked() {
      const until = blocked.get(key);
      if (until === undefined) return;
      if (until > Date.now()) throw rateLimited();
      blocked.delete(key);
    },
    /** Counts one failure; 429 (and a block) when it is one too many. */
    async record() {
      const limiter = c.env.CREDENTIAL_FAILURE_LIMITER;
      if (!limiter) return;
      const { success } = await limiter.limit({ key });
      if (success) return;
      blocked.delete(key);
      blocked.set(key, Date.now() + BLOCK_MS);
      if (blocked.size > MAX_BLOCKED) blocked.delete(blocked.keys().next().value as string);
      throw rateLimited();
    },
  };
}
