import type { Env } from "../../env";
import { getUpstreamConfig } from "../../env";
import { parseRetryAfter } from "../../lib/retry-after";
import { noRecorder, type UpstreamCallRecorder } from "../recorder";
import { ifixUrl } from "./envelope";
import type { IfixType } from "./codec";

export type PostOutcome =
  | { kind: "ok"; httpStatus: number; durationMs: number }
  | { kind: "rejected"; httpStatus: number; durationMs: number; error: string }
  | { kind: "retry"; httpStatus: number | null; durationMs: number; error: string; retryAfterMs: number | null; timeout: boolean };

/**
 * Posts one signed message to `${IFIX_BASE_URL}/ifix/v1/<type>` and reports the call to the
 * caller's recorder (portal "ifix", no bodies: they name individuals). Writes no storage.
 */
export async function postIfixMessage(
  env: Env,
  type: IfixType,
  body: string,
  meta: { messageId: string; attempt: number; requestId?: string | null },
  record: UpstreamCallRecorder = noRecorder,
): Promise<PostOutcome> {
  const { UPSTREAM_TIMEOUT_MS } = getUpstreamConfig(env);
  const started = Date.now();
  let outcome: PostOutcome;
  try {
    const res = await fetch(ifixUrl(env, type), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body,
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
    const text = await res.text().catch(() => "");
    const durationMs = Date.now() - started;
    if (res.ok) outcome = { kind: "ok", httpStatus: res.status, durationMs };
    else if (res.status === 429 || res.status === 408 || res.status >= 500) {
      outcome = {
        kind: "retry",
        httpStatus: res.status,
        durationMs,
        error: `HTTP ${res.status}`,
        retryAfterMs: parseRetryAfter(res.headers.get("retry-after")),
        timeout: false,
      };
    } else outcome = { kind: "rejected", httpStatus: res.status, durationMs, error: summarizeErrors(text) ?? `HTTP ${res.status}` };
  } catch (err) {
    const durationMs = Date.now() - started;
    const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    outcome = { kind: "retry", httpStatus: null, durationMs, error: timeout ? "timeout" : "network error", retryAfterMs: null, timeout };
  }
  try {
    await record({
      portal: "ifix",
      operation: type,
      subjectId: meta.messageId,
      requestId: meta.requestId ?? null,
      attempt: meta.attempt,
      outcome:
        outcome.kind === "ok"
          ? "ok"
          : outcome.kind === "rejected"
            ? "rejected"
            : outcome.timeout
              ? "timeout"
              : outcome.httpStatus === null
                ? "network"
                : "retry",
      httpStatus: outcome.httpStatus,
      durationMs: outcome.durationMs,
      errorCode: outcome.kind === "ok" ? null : outcome.error.slice(0, 200),
    });
  } catch {
    /* the log must never break the call it logs */
  }
  return outcome;
}

/** The seed's error shape {"errors":[{code,message}]} → one line, for the ledger. */
function summarizeErrors(text: string): string | null {
  try {
    const j = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    if (Array.isArray(j.errors) && j.errors.length) {
      return j.errors
        .map((e) => `${String(e.code ?? "")}: ${String(e.message ?? "")}`)
        .join("; ")
        .slice(0, 500);
    }
  } catch {
    /* not JSON */
  }
  return null;
}

/**
 * A 409 to a message that may have reached iFIX before (an earlier attempt timed out, dropped or
 * failed after sending) is iFIX saying it already has this message_id: delivered, not refused.
 */
export const isDuplicateAnswer = (o: PostOutcome, attempt: number) => o.kind === "rejected" && o.httpStatus === 409 && attempt > 1;
