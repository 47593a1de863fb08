import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import type { Logger } from "../../lib/logger";
import { createLogger } from "../../lib/logger";
import type { Db } from "../../storage/db";
import { createDb } from "../../storage/db";
import { recordUpstreamCall } from "../../storage/upstream-calls";
import { redactString } from "../../lib/redact";
import { getUpstreamToken } from "../../durable-objects/token-broker";
import { getUmangConfig, type UmangConfig } from "./config";
import { buildEnvelope, buildHeaders, newTracker } from "./envelope";
import { failureCode, failureError, parseFailurePd, timedOut, unavailable, type UpstreamFailure } from "./errors";

/** Who is calling, for the log line and the transaction log. Never carries bodies. */
export interface CallContext {
  requestId?: string | null;
  logger?: Logger;
  db?: Db;
  /** When given, the transaction-log row is written after the response instead of before it. */
  defer?: (work: Promise<unknown>) => void;
}

export type OpAnswer =
  | { kind: "ok"; pd: unknown; trkr: string }
  | { kind: "failure"; failure: UpstreamFailure; trkr: string };

type Outcome = "ok" | "rejected" | "failed" | "timeout" | "network";

/**
 * Posts one op to `${UMANG_BASE_URL}/<op>` with the envelope and headers, within UPSTREAM_TIMEOUT_MS.
 * `rs:"S"` → ok; `rs:"F"` with a parsable `pd` → failure (the caller decides: retry with a new
 * session, or map). Everything else (UMANG's own `PE…` failures, non-JSON, 5xx, HTTP errors,
 * network errors, timeouts) throws 502 UPSTREAM_UNAVAILABLE / 504 UPSTREAM_TIMEOUT.
 * Logs and records operation, outcome, status, duration and tracker: never a body.
 */
export async function sendOp(env: Env, op: string, fields: Record<string, unknown>, ctx: CallContext = {}, cfg: UmangConfig = getUmangConfig(env)): Promise<OpAnswer> {
  const { UPSTREAM_TIMEOUT_MS: timeoutMs } = getUpstreamConfig(env);
  const trkr = newTracker();
  const logger = (ctx.logger ?? createLogger({ requestId: ctx.requestId ?? null })).child({ portal: "umang", operation: op, trkr });
  const db = ctx.db ?? createDb(env.DB);
  const started = Date.now();
  const body = JSON.stringify({ ...buildEnvelope(cfg, trkr), ...fields });

  const finish = async (outcome: Outcome, httpStatus: number | null, errorCode: string | null) => {
    const durationMs = Date.now() - started;
    const line = { outcome, httpStatus, durationMs, errorCode };
    if (outcome === "ok" || outcome === "rejected") logger.info("umang call", line);
    else logger.warn("umang call", line);
    const write = recordUpstreamCall(db, {
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
    if (ctx.defer) ctx.defer(write);
    else await write;
  };

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let status: number;
  let text: string;
  try {
    const res = await fetch(`${cfg.UMANG_BASE_URL}/${op}`, { method: "POST", headers: buildHeaders(cfg), body, signal: controller.signal });
    status = res.status;
    text = await res.text();
  } catch (err) {
    if (controller.signal.aborted) {
      await finish("timeout", null, "UPSTREAM_TIMEOUT");
      throw timedOut(timeoutMs);
    }
    await finish("network", null, "UPSTREAM_UNAVAILABLE");
    throw unavailable("UMANG could not be reached", [{ reason: err instanceof Error ? err.name : "network" }]);
  } finally {
    clearTimeout(timer);
  }

  let parsed: { rs?: unknown; rc?: unknown; rd?: unknown; pd?: unknown } | null = null;
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) parsed = v;
  } catch {
    /* not JSON */
  }

  if (status >= 500 || !parsed || (parsed.rs !== "S" && parsed.rs !== "F")) {
    // "Internal Server Error" in plain text, a gateway fault body, a 429 or 5xx without the envelope.
    await finish("failed", status, "UPSTREAM_UNAVAILABLE");
    throw unavailable("UMANG answered without its response envelope", [{ status }]);
  }
  if (parsed.rs === "S") {
    await finish("ok", status, null);
    return { kind: "ok", pd: parsed.pd ?? null, trkr };
  }
  const failure = parseFailurePd(parsed.pd);
  if (!failure) {
    // UMANG's own failures ({"rs":"F","rc":"PE004","rd":"Sorry, …","pd":null}): the platform, not the caller.
    const rc = typeof parsed.rc === "string" ? parsed.rc : null;
    await finish("failed", status, "UPSTREAM_UNAVAILABLE");
    throw unavailable("UMANG could not process the request", [{ rc, message: typeof parsed.rd === "string" ? redactString(parsed.rd) : null }]);
  }
  const code = failureCode(failure.status);
  await finish("rejected", status, code);
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

/** The session accessToken through the broker (its failures keep their code: 502, 504, 503). */
function sessionToken(env: Env, rejected?: string): Promise<string> {
  return getUpstreamToken(env, "umang", rejected ? { rejected } : {});
}

function unwrap(answer: OpAnswer): unknown {
  if (answer.kind === "ok") return answer.pd;
  throw failureError(answer.failure);
}

