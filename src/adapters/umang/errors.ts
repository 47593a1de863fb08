import { GatewayError, type ErrorCode } from "../../errors";
import { redactString } from "../../lib/redact";

/** The cause UMANG reports inside `pd` of an `rs:"F"`, e.g. `404 Not Found: [{"error":{"code":1417,"message":"…"}}]`. */
export interface UpstreamFailure {
  status: number;
  code: number | string | null;
  message: string;
}

const PD_FAILURE = /^\s*(\d{3})\s+([^:[]*?)\s*:\s*([\s\S]*)$/;

/** Parses the seed's failure strings; null when `pd` is not one. */
export function parseFailurePd(pd: unknown): UpstreamFailure | null {
  if (typeof pd !== "string") return null;
  const m = PD_FAILURE.exec(pd);
  if (!m) return null;
  const status = Number(m[1]);
  const reason = m[2] || "";
  const rest = m[3].trim();
  const inner = innerError(rest);
  return {
    status,
    code: inner?.code ?? null,
    message: redactString(inner?.message ?? reason ?? ""),
  };
}

function innerError(rest: string): { code: number | string | null; message: string | null } | null {
  if (!rest || /^\[\s*no body\s*\]$/i.test(rest)) return null;
  const candidates = [rest];
  if (rest.startsWith("[") && rest.endsWith("]")) candidates.push(rest.slice(1, -1));
  for (const text of candidates) {
    try {
      let v: unknown = JSON.parse(text);
      if (Array.isArray(v)) v = v[0];
      const e = (v as { error?: { code?: unknown; message?: unknown } } | null)?.error ?? (v as { code?: unknown; message?: unknown } | null);
      if (e && typeof e === "object") {
        const code = typeof e.code === "number" || typeof e.code === "string" ? e.code : null;
        const message = typeof e.message === "string" ? e.message : null;
        if (code !== null || message !== null) return { code, message };
      }
    } catch {
      /* not JSON: try the next form */
    }
  }
  return null;
}

/** CONTRACT §6: the inner status decides the code. */
export function failureCode(status: number): ErrorCode {
  switch (status) {
    case 401:
      return "UPSTREAM_UNAUTHORIZED";
    case 403:
      return "UPSTREAM_FORBIDDEN";
    case 404:
      return "UPSTREAM_NOT_FOUND";
    case 409:
      return "UPSTREAM_CONFLICT";
    default:
      // CONTRACT §6: anything else, an inner 5xx included (an HTTP 5xx is 502 in the client).
      return "UPSTREAM_REJECTED";
  }
}

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  UPSTREAM_UNAUTHORIZED: "UMANG refused the token",
  UPSTREAM_FORBIDDEN: "UMANG refused the operation for this token",
  UPSTREAM_NOT_FOUND: "UMANG found no such resource",
  UPSTREAM_CONFLICT: "UMANG reports a conflict with the resource's state",
  UPSTREAM_REJECTED: "UMANG rejected the request",
  UPSTREAM_UNAVAILABLE: "UMANG is unavailable",
};

export function failureError(f: UpstreamFailure): GatewayError {
  const code = failureCode(f.status);
  return new GatewayError(code, f.message ? `${MESSAGES[code]}: ${f.message}` : MESSAGES[code]!, {
    details: [{ status: f.status, code: f.code, message: f.message }],
  });
}

export const unavailable = (message: string, details: Record<string, unknown>[] = []) =>
  new GatewayError("UPSTREAM_UNAVAILABLE", message, { details });

export const timedOut = (ms: number) => new GatewayError("UPSTREAM_TIMEOUT", `UMANG did not answer within ${ms} ms`);
