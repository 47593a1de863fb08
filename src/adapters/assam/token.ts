import type { Env } from "../../env";
import type { FetchedToken } from "../../durable-objects/token-providers";
import { GatewayError } from "../../errors";
import { getUpstreamConfig } from "../../env";
import { noRecorder, type UpstreamCallRecorder } from "../recorder";
import { getAssamConfig, usesOAuth } from "./config";
import { reserveAssamSlots, sleep } from "./pace";

/** The longest the token fetch waits for a send slot; past it, it gives up without sending. */
export const TOKEN_MAX_WAIT_MS = 30_000;

/** The token endpoint failed; `httpStatus` (when it answered) survives the broker's RPC. */
export class AssamTokenError extends GatewayError {
  constructor(
    readonly httpStatus: number | null,
    readonly reason: string,
  ) {
    super(reason === "timeout" ? "UPSTREAM_TIMEOUT" : "UPSTREAM_UNAVAILABLE", `assam token: ${reason}`);
    this.name = "AssamTokenError";
  }
}

/**
 * OAuth2 client credentials (seed 000 §2.1): a form-encoded POST to `${ASSAM_BASE_URL}/auth/token`.
 * Called only inside the TokenBroker Durable Object (single flight), through `getUpstreamToken`.
 * The request is paced like every other request to the portal (the deliveries' lane): when the pace
 * has no slot within TOKEN_MAX_WAIT_MS, nothing is sent and the fetch fails (the caller retries later).
 * The call is reported to `recorder` (the caller's transaction log); the adapter writes no storage.
 */
export async function fetchAssamToken(env: Env, recorder: UpstreamCallRecorder = noRecorder): Promise<FetchedToken> {
  const conf = getAssamConfig(env);
  if (!usesOAuth(conf)) throw new GatewayError("CONFIG_INVALID", "assam uses a static API key: no token to fetch");
  const { UPSTREAM_TIMEOUT_MS } = getUpstreamConfig(env);
  const grant = await reserveAssamSlots(env, "deliver", conf.ASSAM_MAX_RPS, 1, TOKEN_MAX_WAIT_MS);
  if (!grant.waits.length) throw new AssamTokenError(null, "paced: no send slot toward the portal");
  await sleep(grant.waits[0]);
  const started = Date.now();
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
      redirect: "manual",
    });
  } catch (err) {
    const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    await report(recorder, { portal: "assam", operation: "token", outcome: timeout ? "timeout" : "network", durationMs: Date.now() - started });
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
  await report(recorder, {
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

/** A recorder must not break the call it records. */
async function report(recorder: UpstreamCallRecorder, r: Parameters<UpstreamCallRecorder>[0]) {
  try {
    await recorder(r);
  } catch {
    /* the transaction log is best-effort */
  }
}
