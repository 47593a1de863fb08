/**
 * The gateway's closed set of error codes and the error every layer raises (domain rules, adapters,
 * Durable Objects, queues). It knows nothing of HTTP: `src/http/errors.ts` maps each code to exactly
 * one status and renders the contract's envelope (CONTRACT §3).
 */
export const ERROR_CODES = [
  "VALIDATION_FAILED",
  "UNAUTHORIZED",
  "BAD_SIGNATURE",
  "STALE_MESSAGE",
  "UPSTREAM_UNAUTHORIZED",
  "FORBIDDEN",
  "UPSTREAM_FORBIDDEN",
  "NOT_FOUND",
  "UPSTREAM_NOT_FOUND",
  "SANCTION_NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "CONFLICT",
  "IDEMPOTENCY_CONFLICT",
  "DUPLICATE_PERIOD_CLAIM",
  "INVALID_STATE",
  "PORTAL_CONFLICT",
  "PI_EXISTS",
  "SANCTION_EXISTS",
  "UPSTREAM_CONFLICT",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "UNKNOWN_ACTIVITY",
  "AMOUNT_REQUIRED",
  "EMPTY_CLAIM",
  "PERIOD_OPEN",
  "INSUFFICIENT_FUNDS",
  "AMOUNT_MISMATCH",
  "UPSTREAM_REJECTED",
  "BUSINESS_RULE",
  "RATE_LIMITED",
  "INTERNAL_ERROR",
  "UPSTREAM_UNAVAILABLE",
  "CONFIG_INVALID",
  "UPSTREAM_RATE_LIMITED",
  "UNAVAILABLE",
  "UPSTREAM_TIMEOUT",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorDetail {
  path?: string;
  message?: string;
  [key: string]: unknown;
}

/** A failure the caller should see: code, safe message, optional details, optional response headers. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, opts: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = "GatewayError";
    this.code = code;
    this.details = opts.details ?? [];
    this.headers = opts.headers ?? {};
  }
}

export const notFound = (what = "resource") => new GatewayError("NOT_FOUND", `${what} not found`);
