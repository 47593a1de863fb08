import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import type { Logger } from "../../lib/logger";
import { createLogger } from "../../lib/logger";
import { redactString } from "../../lib/redact";
import { parseRetryAfter } from "../../lib/retry-after";
import { noRecorder, type UpstreamCallRecorder, type UpstreamCallReport } from "../recorder";
import { getUpstreamToken } from "../../durable-objects/token-broker";
import { getUmangConfig, type UmangConfig } from "./config";
import { buildEnvelope, buildHeaders, newTracker } from "./envelope";
import { failureCode, failureError, parseFailurePd, rateLimited, timedOut, unavailable, type UpstreamFailure } from "./errors";

/** Who is calling, for the log line and the transaction log. Never carries bodies. */
export interface CallContext {
  requestId?: string | null;
  logger?: Logger;
  /**
   * Receives one report per call (operation, outcome, status, timing, tracker: never a body). The
   * adapter writes no storage itself: the gateway hands it the transaction log.
   */
  recorder?: UpstreamCallRecorder;
  /** A shorter timeout than UPSTREAM_TIMEOUT_MS for this call (never a longer one). */
  timeoutMs?: number;
}

export type OpAnswer = { kind: "ok"; pd: unknown; trkr: string } | { kind: "failure"; failure: UpstreamFailure; trkr: string };

type Outcome = UpstreamCallReport["outcome"];

/** What the log keeps of an answer the caller only sees as a generic 5xx (CONTRACT §3). */
const MAX_LOGGED_TEXT = 200;
const forLog = (v: unknown): string | null => (typeof v === "string" ? redactString(v).slice(0, MAX_LOGGED_TEXT) : null);

/**
 * Posts one op to `${UMANG_BASE_URL}/<op>` with the envelope and headers, within UPSTREAM_TIMEOUT_MS.
 * `rs:"S"` → ok; `rs:"F"` with a parsable `pd` → failure (the caller decides: retry with a new
 * session, or map). Everything else throws: a 429 → 503 UPSTREAM_RATE_LIMITED with Retry-After;
 * UMANG's own `PE…` failures, non-JSON, 5xx, other HTTP errors, network errors → 502
 * UPSTREAM_UNAVAILABLE; a timeout → 504 UPSTREAM_TIMEOUT. Those errors carry a generic message and
 * no details: UMANG's `rc`/`rd`, its status and the cause go to the log line (redacted) only.
 */
export async function sendOp(
  env: Env,
  op: string,
  fields: Record<string, unknown>,
  ctx: CallContext = {},
  cfg: UmangConfig = getUmangConfig(env),
): Promise<OpAnswer> {
  const { UPSTREAM_TIMEOUT_MS } = getUpstreamConfig(env);
  const timeoutMs = Math.min(UPSTREAM_TIMEOUT_MS, ctx.timeoutMs ?? UPSTREAM_TIMEOUT_MS);
  const trkr = newTracker();
  const logger = (ctx.logger ?? createLogger({ requestId: ctx.requestId ?? null })).child({ portal: "umang", operation: op, trkr });
  const recorder = ctx.recorder ?? noRecorder;
  const started = Date.now();
  const body = JSON.stringify({ ...buildEnvelope(cfg, trkr), ...fields });

  const finish = async (outcome: Outcome, httpStatus: number | null, errorCode: string | null, cause: Record<string, unknown> = {}) => {
    const durationMs = Date.now() - started;
    const line = { outcome, httpStatus, durationMs, errorCode, ...cause };
    if (outcome === "ok" || outcome === "rejected") logger.info("umang call", line);
    else logger.warn("umang call", line);
    try {
      await recorder({
        portal: "umang",
        operation: op,
        requestId: ctx.requestId ?? null,
        tracker: trkr,
        attempt: 1,
        outcome,
        httpStatus,
        durationMs,
        errorCode,
      });
    } catch {
      /* the transaction log must never break the call it logs */
    }
  };

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${cfg.UMANG_BASE_URL}/${op}`, { method: "POST", headers: buildHeaders(cfg), body, signal: controller.signal });
    text = await res.text();
  } catch (err) {
    if (controller.signal.aborted) {
      await finish("timeout", null, "UPSTREAM_TIMEOUT", { timeoutMs });
      throw timedOut(timeoutMs);
    }
    await finish("network", null, "UPSTREAM_UNAVAILABLE", { reason: err instanceof Error ? err.name : "network" });
    throw unavailable();
  } finally {
    clearTimeout(timer);
  }
  const status = res.status;

  if (status === 429) {
    // UMANG (or the API manager in front of it) limits the gateway as a whole: pass its wait on.
    const waitMs = parseRetryAfter(res.headers.get("retry-after"));
    await finish("retry", status, "UPSTREAM_RATE_LIMITED", { retryAfterMs: waitMs });
    throw rateLimited(waitMs);
  }

  let parsed: { rs?: unknown; rc?: unknown; rd?: unknown; pd?: unknown } | null = null;
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) parsed = v;
  } catch {
    /* not JSON */
  }

  if (status >= 500 || !parsed || (parsed.rs !== "S" && parsed.rs !== "F")) {
    // "Internal Server Error" in plain text, the API manager's own fault body, a 5xx without the envelope.
    await finish("failed", status, "UPSTREAM_UNAVAILABLE", { reason: parsed ? "no envelope" : "not JSON" });
    throw unavailable();
  }
  if (parsed.rs === "S") {
    await finish("ok", status, null);
    return { kind: "ok", pd: parsed.pd ?? null, trkr };
  }
  const failure = parseFailurePd(parsed.pd);
  if (!failure) {
    // UMANG's own failures ({"rs":"F","rc":"PE004","rd":"Sorry, …","pd":null}): the platform, not the caller.
    await finish("failed", status, "UPSTREAM_UNAVAILABLE", { rc: forLog(parsed.rc), rd: forLog(parsed.rd) });
    throw unavailable();
  }
  const code = failureCode(failure.status);
  await finish("rejected", status, code, { innerStatus: failure.status, innerCode: failure.code });
  return { kind: "failure", failure, trkr };
}

export interface CallOptions {
  /** Whether the op carries the gateway's `authorization` (the `session` op's accessToken). */
  gatewayAuth?: boolean;
}

/**
 * One op as the routes use it: the session accessToken added when the op carries `authorization`
 * (and, when UMANG refuses it with a 401, one retry with a token refreshed through the broker),
 * `rs:"S"` → `pd`, `rs:"F"` → the mapped GatewayError.
 */
export async function callOp(env: Env, op: string, fields: Record<string, unknown>, ctx: CallContext = {}, opts: CallOptions = {}): Promise<unknown> {
  const cfg = getUmangConfig(env);
  if (!opts.gatewayAuth) return unwrap(await sendOp(env, op, fields, ctx, cfg));

  let token = await sessionToken(env);
  let answer = await sendOp(env, op, { ...fields, authorization: token }, ctx, cfg);
  if (answer.kind === "failure" && answer.failure.status === 401) {
    // The session expired early or was revoked: never hand that token out again, refresh once, retry once.
    token = await sessionToken(env, token);
    answer = await sendOp(env, op, { ...fields, authorization: token }, ctx, cfg);
  }
  return unwrap(answer);
}

/** The session accessToken through the broker (its failures keep their code: 502, 503, 504). */
function sessionToken(env: Env, rejected?: string): Promise<string> {
  return getUpstreamToken(env, "umang", rejected ? { rejected } : {});
}

function unwrap(answer: OpAnswer): unknown {
  if (answer.kind === "ok") return answer.pd;
  throw failureError(answer.failure);
}
