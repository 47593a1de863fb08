import type { Env } from "../../env";
import type { FetchedToken } from "../../durable-objects/token-providers";
import type { CachedToken } from "../../durable-objects/token-broker";
import { createLogger } from "../../lib/logger";
import { getUmangConfig } from "./config";
import { sendOp } from "./client";
import { unavailable } from "./errors";

interface SessionPd {
  accessToken?: unknown;
  expiresIn?: unknown;
  refreshToken?: unknown;
  refreshExpiresIn?: unknown;
}

const positive = (v: unknown): number | undefined => {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : undefined;
};

/**
 * The `session` op (seed 001): clientId + clientSecret → accessToken (expiresIn 600 in the seed) and a
 * refreshToken (refreshExpiresIn 1800). Called only inside the TokenBroker Durable Object, so one
 * refresh serves every request. While the previous refresh token is still valid it is used
 * (grantType refresh_token, as ABDM's gateway sessions accept); if UMANG refuses it, the client
 * credentials are used instead.
 */
export async function fetchUmangSessionToken(env: Env, previous?: CachedToken): Promise<FetchedToken> {
  const cfg = getUmangConfig(env);
  const ctx = { logger: createLogger({ component: "token-broker" }) };
  const credentials = { clientId: cfg.UMANG_CLIENT_ID, clientSecret: cfg.UMANG_CLIENT_SECRET };

  if (previous?.refreshToken && (previous.refreshExpiresAt ?? 0) - Date.now() > 5_000) {
    const viaRefresh = await sendOp(env, "session", { ...credentials, grantType: "refresh_token", refreshToken: previous.refreshToken }, ctx, cfg);
    if (viaRefresh.kind === "ok") {
      const t = toToken(viaRefresh.pd);
      if (t) return t;
    }
  }
  const answer = await sendOp(env, "session", credentials, ctx, cfg);
  if (answer.kind === "failure") {
    // The gateway's own credentials were refused: a configuration matter, never the caller's.
    throw unavailable("UMANG refused the gateway's session", [{ status: answer.failure.status, code: answer.failure.code }]);
  }
  const t = toToken(answer.pd);
  if (!t) throw unavailable("UMANG's session answer had no accessToken");
  return t;
}

function toToken(pd: unknown): FetchedToken | null {
  const p = (pd ?? {}) as SessionPd;
  if (typeof p.accessToken !== "string" || p.accessToken === "") return null;
  const refreshExpires = positive(p.refreshExpiresIn);
  return {
    token: p.accessToken,
    expiresInSeconds: positive(p.expiresIn) ?? 600,
    refreshToken: typeof p.refreshToken === "string" && p.refreshToken ? p.refreshToken : undefined,
    refreshExpiresInSeconds: refreshExpires,
  };
}
