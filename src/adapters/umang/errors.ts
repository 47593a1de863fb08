import { GatewayError, type ErrorCode } from "../../errors";
import { redactString } from "../../lib/redact";

/** The cause UMANG reports inside `pd` of an `rs:"F"`, e.g. `404 Not Found: [{"error":{"code":1417,"message":"…"}}]`. */
export interface UpstreamFailure {
  status: number;
  code: number | string | null;
  message: string;
}

/** The longest inner message kept (a portal could answer a novel; a caller needs a sentence). */
const MAX_MESSAGE = 500;

/**
 * Parses the seed's failure strings; null when `pd` is not one. A single left-to-right scan, so its
 * cost is linear in the length of `pd` whatever the portal sends (the regular expression it replaces,
 * `^\s*(\d{3})\s+([^:[]*?)\s*:\s*([\s\S]*)$`, backtracked cubically on a run of whitespace).
 */
export function parseFailurePd(pd: unknown): UpstreamFailure | null {
  if (typeof pd !== "string") return null;
  const head = splitStatusLine(pd);
  if (!head) return null;
  const inner = innerError(head.rest);
  return {
    status: head.status,
    code: inner?.code ?? null,
    message: clip(redactString(inner?.message ?? head.reason)),
  };
}

const isSpace = (ch: string) => ch.trim() === "";
const isDigit = (ch: string) => ch >= "0" && ch <= "9";
const clip = (s: string) => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s);

/** `<3 digits><whitespace><reason without ':' or '['>:<rest>`, each character looked at once. */
function splitStatusLine(s: string): { status: number; reason: string; rest: string } | null {
  const n = s.length;
  let i = 0;
  while (i < n && isSpace(s[i])) i++;
  if (n - i < 4 || !isDigit(s[i]) || !isDigit(s[i + 1]) || !isDigit(s[i + 2]) || !isSpace(s[i + 3])) return null;
  const status = Number(s.slice(i, i + 3));
  const start = i + 3;
  let j = start;
  while (j < n && s[j] !== ":" && s[j] !== "[") j++;
  if (j >= n || s[j] !== ":") return null;
  return { status, reason: s.slice(start, j).trim(), rest: s.slice(j + 1).trim() };
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

/**
 * The 5xx answers (CONTRACT §3): a generic message, no details. What UMANG said (rc, rd, status) is
 * in the log line of the call, never in the caller's answer.
 */
export const unavailable = () => new GatewayError("UPSTREAM_UNAVAILABLE", "UMANG is unavailable; try again later");

export const timedOut = (ms: number) => new GatewayError("UPSTREAM_TIMEOUT", `UMANG did not answer within ${ms} ms`);

/** The longest wait passed on to a caller (UMANG's own Retry-After may be longer). */
const MAX_RETRY_AFTER_SECONDS = 3_600;

/**
 * UMANG answered 429: the gateway's shared credentials are being limited, not this caller, so it is
 * 503 UPSTREAM_RATE_LIMITED (the caller's own limit is 429 RATE_LIMITED), with UMANG's wait as
 * Retry-After (at least 1 s; 1 s when UMANG gave none).
 */
export function rateLimited(waitMs: number | null): GatewayError {
  const seconds = Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil((waitMs ?? 1_000) / 1000)));
  return new GatewayError("UPSTREAM_RATE_LIMITED", "UMANG is limiting the gateway's requests; retry after the Retry-After delay", {
    headers: { "Retry-After": String(seconds) },
  });
}
