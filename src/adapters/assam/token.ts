import type { Env } from "../../env";
import type { FetchedToken } from "../../durable-objects/token-providers";
import { GatewayError } from "../../errors";
import { getUpstreamConfig } from "../../env";
import { createDb } from "../../storage/db";
import { recordUpstreamCall } from "../../storage/upstream-calls";
import { getAssamConfig, usesOAuth } from "./config";
import { paceAssam } from "./pace";

/** Thrown when the portal's token endpoint does not give a token; the caller retries later. */
/** The token endpoint failed; `httpStatus` (when it answered) survives the broker's RPC. */
export class AssamTokenError extends GatewayError {
  constructor(readonly httpStatus: number | null, readonly reason: string) {
    super(reason === "timeout" ? "UPSTREAM_TIMEOUT" : "UPSTREAM_UNAVAILABLE", `assam token: ${reason}`);
    this.name = "AssamTokenError";
  }
}

/**
 * OAuth2 client credentials (seed 000 §2.1): a form-encoded POST to `${ASSAM_BASE_URL}/auth/token`.
 * Called only inside the TokenBroker Durable Object (single flight), through `getUpstreamToken`.
 * The request is paced like every other request to the portal.
 */
export async function fetchAssamToken(env: Env): Promise<FetchedToken> {
  const conf = getAssamConfig(env);
  if (!usesOAuth(conf)) throw new GatewayError("CONFIG_INVALID", "assam uses a static API key: no token to fetch");
  const { UPSTREAM_TIMEOUT_MS } = getUpstreamConfig(env);
  await paceAssam(env, conf.ASSAM_MAX_RPS, 60_000);
  const started = Date.now();
  const db = createDb(env.DB);
  let res: Response;
  try {
    res = await fetch(`${conf.ASSAM_BASE_URL}/auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: conf.ASSAM_CLIENT_ID!,
        client_secret: conf.ASSAM_CLIENT_SECRET!,
      }).toString(),
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
  } catch (err) {
    const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    await recordUpstreamCall(db, { portal: "assam", operation: "token", outcome: timeout ? "timeout" : "network", durationMs: Date.now() - started });
    throw new AssamTokenError(null, timeout ? "timeout" : "network error");
  }
  const text = await res.text();
  const durationMs = Date.now() - started;
  let body: { access_token?: unknown; expires_in?: unknown } | null = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* handled below */
  }
  const ok = res.status === 200 && body && typeof body.access_token === "string" && body.access_token.length > 0;
  await recordUpstreamCall(db, {
    portal: "assam",
    operation: "token",
    outcome: ok ? "ok" : res.status === 401 || res.status === 400 ? "rejected" : "retry",
    httpStatus: res.status,
    durationMs,
    errorCode: ok ? null : `HTTP_${res.status}`,
  });
  if (!ok) throw new AssamTokenError(res.status, `token endpoint answered ${res.status}`);
  const expires = Number(body!.expires_in);
  return { token: body!.access_token as string, expiresInSeconds: Number.isFinite(expires) && expires > 0 ? expires : 3600 };
}
