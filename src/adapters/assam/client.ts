import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import type { Db } from "../../storage/db";
import { recordUpstreamCall } from "../../storage/upstream-calls";
import { parseRetryAfter } from "../../domain/claims/backoff";
import { getAssamConfig, usesOAuth, type AssamConfig } from "./config";
import { decodeAnswer, type PortalAnswer } from "./codec";
import { paceAssam } from "./pace";
import { getUpstreamToken, UpstreamTokenError } from "../../durable-objects/token-broker";

/** What one exchange with the portal came to (after at most one token renewal). */
export type PortalResult =
  | { kind: "ok"; httpStatus: number; answer: PortalAnswer; durationMs: number }
  | { kind: "rejected"; httpStatus: number; answer: PortalAnswer; durationMs: number }
  | { kind: "conflict"; httpStatus: 409; answer: PortalAnswer; durationMs: number }
  | { kind: "not_found"; httpStatus: 404; durationMs: number }
  | {
      kind: "retry";
      reason: "timeout" | "network" | "http" | "unauthorized" | "token";
      httpStatus: number | null;
      retryAfterMs: number | null;
      errorCode: string;
      durationMs: number;
    }
  /** The pace allows no request within `maxWaitMs`: nothing was sent; try again after `waitMs`. */
  | { kind: "paced"; waitMs: number };

export interface ExchangeOptions {
  db: Db;
  claimId: string;
  attempt: number;
  /** The longest this caller will wait for a send slot before giving up (queue consumers re-queue). */
  maxWaitMs: number;
  requestId?: string;
}

async function credentials(env: Env, conf: AssamConfig, rejected?: string): Promise<{ headers: Record<string, string>; token?: string }> {
  if (!usesOAuth(conf)) return { headers: { "X-API-Key": conf.ASSAM_API_KEY! } };
  const token = await getUpstreamToken(env, "assam", rejected ? { rejected } : {});
  return { headers: { Authorization: `Bearer ${token}` }, token };
}

/**
 * One paced request with the adapter's rules: timeout per call, a 401 drops the cached token and
 * retries once with a fresh one, and every call lands in the transaction log.
 */
async function exchange(
  env: Env,
  operation: "submit" | "poll",
  build: (headers: Record<string, string>) => { url: string; init: RequestInit },
  o: ExchangeOptions,
): Promise<PortalResult> {
  const conf = getAssamConfig(env);
  const { UPSTREAM_TIMEOUT_MS } = getUpstreamConfig(env);
  let rejected: string | undefined;
  for (let round = 0; round < 2; round++) {
    let creds: { headers: Record<string, string>; token?: string };
    try {
      creds = await credentials(env, conf, rejected);
    } catch (err) {
      const status = err instanceof UpstreamTokenError ? err.httpStatus : null;
      return { kind: "retry", reason: "token", httpStatus: status, retryAfterMs: null, errorCode: "TOKEN_UNAVAILABLE", durationMs: 0 };
    }
    // The first round may give up on a long wait; the 401 renewal round waits, having already spent one.
    const grant = await paceAssam(env, conf.ASSAM_MAX_RPS, round === 0 ? o.maxWaitMs : Math.max(o.maxWaitMs, 30_000));
    if (!grant.granted) return { kind: "paced", waitMs: grant.waitMs };
    const { url, init } = build(creds.headers);
    const started = Date.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
      text = await res.text();
    } catch (err) {
      const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      const durationMs = Date.now() - started;
      await recordUpstreamCall(o.db, {
        portal: "assam",
        operation,
        subjectId: o.claimId,
        requestId: o.requestId ?? null,
        attempt: o.attempt,
        outcome: timeout ? "timeout" : "network",
        durationMs,
        errorCode: timeout ? "UPSTREAM_TIMEOUT" : "NETWORK_ERROR",
      });
      return { kind: "retry", reason: timeout ? "timeout" : "network", httpStatus: null, retryAfterMs: null, errorCode: timeout ? "UPSTREAM_TIMEOUT" : "NETWORK_ERROR", durationMs };
    }
    const durationMs = Date.now() - started;
    const s = res.status;
    const answer = decodeAnswer(text);
    const outcome = s === 200 || s === 202 ? "ok" : s === 400 || s === 409 || s === 422 || s === 404 ? "rejected" : "retry";
    await recordUpstreamCall(o.db, {
      portal: "assam",
      operation,
      subjectId: o.claimId,
      requestId: o.requestId ?? null,
      attempt: o.attempt,
      outcome,
      httpStatus: s,
      durationMs,
      errorCode: outcome === "ok" ? null : `HTTP_${s}`,
      responseBody: answer,
    });
    if (s === 401 && creds.token && round === 0) {
      rejected = creds.token;
      continue;
    }
    if (s === 200 || s === 202) return { kind: "ok", httpStatus: s, answer, durationMs };
    if (s === 400 || s === 422) return { kind: "rejected", httpStatus: s, answer, durationMs };
    if (s === 409) return { kind: "conflict", httpStatus: 409, answer, durationMs };
    if (s === 404) return { kind: "not_found", httpStatus: 404, durationMs };
    return {
      kind: "retry",
      reason: s === 401 ? "unauthorized" : "http",
      httpStatus: s,
      retryAfterMs: s === 429 || s === 503 ? parseRetryAfter(res.headers.get("retry-after")) : null,
      errorCode: s === 401 ? "UPSTREAM_UNAUTHORIZED" : s === 429 ? "UPSTREAM_RATE_LIMITED" : `UPSTREAM_HTTP_${s}`,
      durationMs,
    };
  }
  /* c8 ignore next */
  throw new Error("unreachable");
}

/** POST /api/v1/submissions with the stored bytes; Idempotency-Key = submission_id (seed §3.2). */
export function submitToPortal(env: Env, wireBody: string, o: ExchangeOptions): Promise<PortalResult> {
  const base = getAssamConfig(env).ASSAM_BASE_URL;
  return exchange(
    env,
    "submit",
    (headers) => ({
      url: `${base}/api/v1/submissions`,
      init: {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": o.claimId },
        body: wireBody,
      },
    }),
    o,
  );
}

/** GET /api/v1/submissions/{submission_id} (seed §4). */
export function pollPortal(env: Env, o: ExchangeOptions): Promise<PortalResult> {
  const base = getAssamConfig(env).ASSAM_BASE_URL;
  return exchange(
    env,
    "poll",
    (headers) => ({ url: `${base}/api/v1/submissions/${encodeURIComponent(o.claimId)}`, init: { method: "GET", headers: { ...headers, Accept: "application/json" } } }),
    o,
  );
}
