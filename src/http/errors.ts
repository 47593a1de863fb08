import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "@hono/zod-openapi";
import { ERROR_CODES, GatewayError, type ErrorCode, type ErrorDetail } from "../errors";

export { GatewayError, notFound, type ErrorCode, type ErrorDetail } from "../errors";

/**
 * Each error code maps to exactly one HTTP status (CONTRACT §3, §5–§7), so a route can only answer a
 * code with its status. The codes and the error class live in src/errors.ts, free of HTTP.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  BAD_SIGNATURE: 401,
  STALE_MESSAGE: 401,
  UPSTREAM_UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  UPSTREAM_FORBIDDEN: 403,
  NOT_FOUND: 404,
  UPSTREAM_NOT_FOUND: 404,
  SANCTION_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  IDEMPOTENCY_CONFLICT: 409,
  DUPLICATE_PERIOD_CLAIM: 409,
  INVALID_STATE: 409,
  PORTAL_CONFLICT: 409,
  PI_EXISTS: 409,
  SANCTION_EXISTS: 409,
  UPSTREAM_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNKNOWN_ACTIVITY: 422,
  AMOUNT_REQUIRED: 422,
  EMPTY_CLAIM: 422,
  PERIOD_OPEN: 422,
  INSUFFICIENT_FUNDS: 422,
  AMOUNT_MISMATCH: 422,
  UPSTREAM_REJECTED: 422,
  BUSINESS_RULE: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  UPSTREAM_UNAVAILABLE: 502,
  CONFIG_INVALID: 503,
  UPSTREAM_RATE_LIMITED: 503,
  UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
} as const satisfies Record<ErrorCode, ContentfulStatusCode>;

export function codeToStatus(code: ErrorCode): ContentfulStatusCode {
  return ERROR_STATUS[code];
}

/** The HTTP status of a gateway error. */
export const statusOf = (err: GatewayError): ContentfulStatusCode => codeToStatus(err.code);

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).openapi({ example: "VALIDATION_FAILED" }),
      message: z.string(),
      details: z.array(z.record(z.string(), z.unknown())),
      requestId: z.string(),
    }),
  })
  .openapi("Error");

/**
 * Builds the error envelope of CONTRACT §3. A 5xx says only its code, a generic message and the
 * request id: no details (what an upstream said stays in the log); the UPSTREAM_* codes keep the
 * adapter's own generic message; CONFIG_INVALID names the variable (CONTRACT §2).
 */
export function errorBody(code: ErrorCode, message: string, requestId: string, details: ErrorDetail[] = []) {
  const status = codeToStatus(code);
  if (status >= 500 && code !== "CONFIG_INVALID") {
    return { error: { code, message: code.startsWith("UPSTREAM_") ? message : "internal error", details: [], requestId } };
  }
  return { error: { code, message, details, requestId } };
}

/** The error responses every route may give, spread into each route's OpenAPI `responses`. */
const errorContent = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorBodySchema } },
});

export const commonErrorResponses = {
  400: errorContent("VALIDATION_FAILED: malformed JSON, a wrong type, an unknown field or a bad format"),
  401: errorContent("UNAUTHORIZED: no or bad credentials"),
  403: errorContent("FORBIDDEN: the credentials lack the route's scope"),
  413: errorContent("PAYLOAD_TOO_LARGE: body over 1 MiB"),
  415: errorContent("UNSUPPORTED_MEDIA_TYPE: body is not JSON"),
  429: errorContent("RATE_LIMITED: too many requests (see Retry-After)"),
  500: errorContent("INTERNAL_ERROR"),
  503: errorContent("CONFIG_INVALID: an adapter is not configured"),
} as const;

export const errorResponse = errorContent;
