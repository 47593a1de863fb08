import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import type { FetchedToken } from "../../durable-objects/token-providers";
import type { CachedToken } from "../../durable-objects/token-broker";
import { GatewayError } from "../../errors";
import { createLogger } from "../../lib/logger";
import type { UpstreamCallRecorder } from "../recorder";
import { getUmangConfig } from "./config";
import { sendOp, type CallContext } from "./client";
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
 * refresh serves every request.
 *
 * While the previous refresh token is valid it is tried first (grantType refresh_token, as ABDM's
 * gateway sessions accept). That grant is not in seed 001, so whatever it meets (a refusal, UMANG's
 * own PE failure, a 5xx or a non-envelope answer, a network error, a timeout after half the usual
 * wait) the client credentials, which the seed documents, are used at once. After a failure that was
 * not a plain refusal the new session is kept without its refresh token, so the next renewal goes
 * straight to the credentials instead of waiting on a grant that may not work.
 */
export async function fetchUmangSessionToken(env: Env, previous?: CachedToken, recorder?: UpstreamCallRecorder): Promise<FetchedToken> {
  const cfg = getUmangConfig(env);
  const logger = createLogger({ component: "token-broker", portal: "umang" });
  const ctx: CallContext = { logger, recorder };
  const credentials = { clientId: cfg.UMANG_CLIENT_ID, clientSecret: cfg.UMANG_CLIENT_SECRET };

  let refreshBroken = false;
  if (previous?.refreshToken && (previous.refreshExpiresAt ?? 0) - Date.now() > 5_000) {
    const refreshCtx = { ...ctx, timeoutMs: Math.max(500, Math.floor(getUpstreamConfig(env).UPSTREAM_TIMEOUT_MS / 2)) };
    try {
      const viaRefresh = await sendOp(
        env,
        "session",
        { ...credentials, grantType: "refresh_token", refreshToken: previous.refreshToken },
        refreshCtx,
        cfg,
      );
      const t = viaRefresh.kind === "ok" ? toToken(viaRefresh.pd) : null;
      if (t) return t;
      // A 401 says this refresh token is spent; anything else says the grant itself may not work.
      refreshBroken = viaRefresh.kind === "ok" || viaRefresh.failure.status !== 401;
      logger.warn("umang session refresh not accepted; using the client credentials", {
        answer: viaRefresh.kind === "ok" ? "no accessToken" : "refused",
      });
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      refreshBroken = true;
      logger.warn("umang session refresh failed; using the client credentials", { code: err.code });
    }
  }

  const answer = await sendOp(env, "session", credentials, ctx, cfg);
  if (answer.kind === "failure") {
    // The gateway's own credentials were refused: a configuration matter, never the caller's.
    logger.error("umang refused the gateway's session credentials", { status: answer.failure.status, code: answer.failure.code });
    throw unavailable();
  }
  const t = toToken(answer.pd);
  if (!t) {
    logger.error("umang's session answer had no accessToken");
    throw unavailable();
  }
  return refreshBroken ? { ...t, refreshToken: undefined, refreshExpiresInSeconds: undefined } : t;
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
