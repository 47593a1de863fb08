import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import { parseRetryAfter } from "../../lib/retry-after";
import { getUpstreamToken, UpstreamTokenError } from "../../durable-objects/token-broker";
import type { UpstreamCallRecorder, UpstreamCallReport } from "../recorder";
import { getAssamConfig, usesOAuth, type AssamConfig } from "./config";
import { decodeAnswer, type PortalAnswer } from "./codec";
import { reserveAssamSlots, sleep, type PaceKind } from "./pace";

/**
 * What one exchange with the portal came to (after at most one token renewal).
 * - ok: 200/202 with the portal's answer.
 * - rejected: 400/422, a definite refusal of the content (seed §4.4).
 * - conflict: 409, the portal holds another payload under this submission_id.
 * - not_found: 404 on a status read (the portal does not know the submission).
 * - refused: any other answer the contract does not list (403, 415, a 404 on submit, a redirect): a
 *   refusal that retrying cannot fix (a firewall rule, a wrong URL); the request was not processed.
 * - retry: 429, 5xx, a second 401, timeouts, network errors, no token. `maybeRecorded` when the portal
 *   may have processed it anyway (a timeout, a dropped connection, a 5xx).
 * - paced: the pace allows no request within the caller's wait; nothing was sent.
 */
export type PortalResult =
  | { kind: "ok"; httpStatus: number; answer: PortalAnswer; durationMs: number }
  | { kind: "rejected"; httpStatus: number; answer: PortalAnswer; durationMs: number }
  | { kind: "conflict"; httpStatus: 409; answer: PortalAnswer; durationMs: number }
  | { kind: "not_found"; httpStatus: 404; durationMs: number }
  | { kind: "refused"; httpStatus: number; durationMs: number }
  | {
      kind: "retry";
      reason: "timeout" | "network" | "http" | "unauthorized" | "token";
      httpStatus: number | null;
      retryAfterMs: number | null;
      errorCode: string;
      durationMs: number;
      maybeRecorded: boolean;
    }
  | { kind: "paced"; waitMs: number };

export interface ExchangeItem {
  claimId: string;
  attempt: number;
  requestId?: string | null;
}

export interface ExchangeOptions {
  /** Receives one report per portal call (the caller's transaction log). */
  recorder: UpstreamCallRecorder;
  /** The longest this caller will wait for send slots; requests beyond it answer `paced`. */
  maxWaitMs: number;
}

/** A Worker invocation keeps at most six connections open at once: more would queue inside fetch (and eat its timeout). */
export const MAX_CONNECTIONS = 6;

/** A one-slot-at-a-time gate of `n` permits. */
function limiter(n: number) {
  let free = n;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

type Credentials = { headers: Record<string, string>; token?: string };

async function credentials(env: Env, conf: AssamConfig, rejected?: string): Promise<Credentials> {
  if (!usesOAuth(conf)) return { headers: { "X-API-Key": conf.ASSAM_API_KEY! } };
  const token = await getUpstreamToken(env, "assam", rejected ? { rejected } : {});
  return { headers: { Authorization: `Bearer ${token}` }, token };
}

const tokenFailure = (err: unknown): PortalResult => ({
  kind: "retry",
  reason: "token",
  httpStatus: err instanceof UpstreamTokenError ? err.httpStatus : null,
  retryAfterMs: null,
  errorCode: "TOKEN_UNAVAILABLE",
  durationMs: 0,
  maybeRecorded: false,
});

async function report(recorder: UpstreamCallRecorder, r: UpstreamCallReport) {
  try {
    await recorder(r);
  } catch {
    /* the transaction log must never break the call it logs */
  }
}

/** Maps one HTTP answer to a result (the 401 renewal is the caller's). */
function classify(operation: "submit" | "poll", res: Response, text: string, durationMs: number): PortalResult {
  const s = res.status;
  const answer = decodeAnswer(text);
  if (s === 200 || s === 202) return { kind: "ok", httpStatus: s, answer, durationMs };
  if (s === 400 || s === 422) return { kind: "rejected", httpStatus: s, answer, durationMs };
  if (s === 409) return { kind: "conflict", httpStatus: 409, answer, durationMs };
  if (s === 404 && operation === "poll") return { kind: "not_found", httpStatus: 404, durationMs };
  // Retry-After is honoured on 429 and every 5xx (CONTRACT §5).
  const retryAfterMs = s === 429 || s >= 500 ? parseRetryAfter(res.headers.get("retry-after")) : null;
  if (s === 401)
    return {
      kind: "retry",
      reason: "unauthorized",
      httpStatus: s,
      retryAfterMs,
      errorCode: "UPSTREAM_UNAUTHORIZED",
      durationMs,
      maybeRecorded: false,
    };
  if (s === 429)
    return { kind: "retry", reason: "http", httpStatus: s, retryAfterMs, errorCode: "UPSTREAM_RATE_LIMITED", durationMs, maybeRecorded: false };
  // 408: the portal gave up waiting for the request, so it did not process it.
  if (s === 408)
    return { kind: "retry", reason: "http", httpStatus: s, retryAfterMs, errorCode: "UPSTREAM_HTTP_408", durationMs, maybeRecorded: false };
  if (s >= 500 && s <= 599)
    return { kind: "retry", reason: "http", httpStatus: s, retryAfterMs, errorCode: `UPSTREAM_HTTP_${s}`, durationMs, maybeRecorded: true };
  return { kind: "refused", httpStatus: s, durationMs };
}

const outcomeOf = (r: PortalResult): UpstreamCallReport["outcome"] =>
  r.kind === "ok" ? "ok" : r.kind === "retry" ? "retry" : r.kind === "paced" ? "retry" : r.kind === "refused" ? "failed" : "rejected";

/**
 * Sends one request per item, paced as `kind` (one call to the pacer for all of them), in parallel
 * within MAX_CONNECTIONS, with the adapter's rules: one set of credentials for the lot, a timeout per
 * call, a 401 drops the cached token and retries that request once with a fresh one, and every call is
 * reported to the recorder. Results are in the items' order. Throws only CONFIG_INVALID.
 */
async function exchangeMany(
  env: Env,
  kind: PaceKind,
  operation: "submit" | "poll",
  items: ExchangeItem[],
  build: (item: ExchangeItem, index: number, headers: Record<string, string>) => { url: string; init: RequestInit },
  o: ExchangeOptions,
): Promise<PortalResult[]> {
  if (!items.length) return [];
  const conf = getAssamConfig(env);
  const { UPSTREAM_TIMEOUT_MS } = getUpstreamConfig(env);
  let creds: Credentials;
  try {
    creds = await credentials(env, conf);
  } catch (err) {
    return items.map(() => tokenFailure(err));
  }
  const grant = await reserveAssamSlots(env, kind, conf.ASSAM_MAX_RPS, items.length, o.maxWaitMs);
  const gate = limiter(MAX_CONNECTIONS);
  let renewal: Promise<Credentials> | null = null;

  const send = async (item: ExchangeItem, index: number, c: Credentials): Promise<{ result: PortalResult }> => {
    const { url, init } = build(item, index, c.headers);
    return gate(async () => {
      const started = Date.now();
      try {
        const res = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
        const text = await res.text();
        const durationMs = Date.now() - started;
        const result = classify(operation, res, text, durationMs);
        await report(o.recorder, {
          portal: "assam",
          operation,
          subjectId: item.claimId,
          requestId: item.requestId ?? null,
          attempt: item.attempt,
          outcome: outcomeOf(result),
          httpStatus: res.status,
          durationMs,
          errorCode: result.kind === "ok" ? null : `HTTP_${res.status}`,
          responseBody: result.kind === "ok" ? undefined : decodeAnswer(text),
        });
        return { result };
      } catch (err) {
        const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
        const durationMs = Date.now() - started;
        const errorCode = timeout ? "UPSTREAM_TIMEOUT" : "NETWORK_ERROR";
        await report(o.recorder, {
          portal: "assam",
          operation,
          subjectId: item.claimId,
          requestId: item.requestId ?? null,
          attempt: item.attempt,
          outcome: timeout ? "timeout" : "network",
          durationMs,
          errorCode,
        });
        return {
          result: {
            kind: "retry",
            reason: timeout ? "timeout" : "network",
            httpStatus: null,
            retryAfterMs: null,
            errorCode,
            durationMs,
            maybeRecorded: true,
          },
        };
      }
    });
  };

  return Promise.all(
    items.map(async (item, i): Promise<PortalResult> => {
      if (i >= grant.waits.length) return { kind: "paced", waitMs: grant.nextWaitMs ?? o.maxWaitMs };
      await sleep(grant.waits[i]);
      const first = await send(item, i, creds);
      if (!(first.result.kind === "retry" && first.result.reason === "unauthorized" && creds.token)) return first.result;
      // The portal refused the cached token: one renewal for every request that met it, then once more.
      renewal ??= credentials(env, conf, creds.token);
      let fresh: Credentials;
      try {
        fresh = await renewal;
      } catch (err) {
        return tokenFailure(err);
      }
      const again = await reserveAssamSlots(env, kind, conf.ASSAM_MAX_RPS, 1, Math.max(o.maxWaitMs, 30_000));
      if (!again.waits.length) return { kind: "paced", waitMs: again.nextWaitMs ?? 30_000 };
      await sleep(again.waits[0]);
      return (await send(item, i, fresh)).result;
    }),
  );
}

/** POST /api/v1/submissions with each item's stored bytes; Idempotency-Key = submission_id (seed §3.2). */
export function submitMany(env: Env, items: (ExchangeItem & { wireBody: string })[], o: ExchangeOptions): Promise<PortalResult[]> {
  const base = getAssamConfig(env).ASSAM_BASE_URL;
  return exchangeMany(
    env,
    "deliver",
    "submit",
    items,
    (item, i, headers) => ({
      url: `${base}/api/v1/submissions`,
      init: {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": item.claimId },
        body: items[i].wireBody,
      },
    }),
    o,
  );
}

/** GET /api/v1/submissions/{submission_id} for each item (seed §4), paced in the polls' lane. */
export function pollMany(env: Env, items: ExchangeItem[], o: ExchangeOptions): Promise<PortalResult[]> {
  const base = getAssamConfig(env).ASSAM_BASE_URL;
  return exchangeMany(
    env,
    "poll",
    "poll",
    items,
    (item, _i, headers) => ({
      url: `${base}/api/v1/submissions/${encodeURIComponent(item.claimId)}`,
      init: { method: "GET", headers: { ...headers, Accept: "application/json" } },
    }),
    o,
  );
}
