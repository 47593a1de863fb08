import { createRoute, z, type RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { Router } from "../../router";
import { callerSecurity } from "../../router";
import type { AppEnv } from "../../context";
import { requireAuth } from "../../middleware/auth";
import { commonErrorResponses, errorResponse } from "../../errors";
import { HEALTH_OPERATIONS, requiredScopes, type HealthOperation } from "../../../domain/health/operations";
import { HEALTH_TOKEN_HEADER, readHealthToken } from "../../../domain/health/health-token";
import { callOp } from "../../../adapters/umang/client";
import { transactionLog } from "../../../storage/upstream-calls";

const healthScope = requireAuth({ scopes: ["health"] });
const bridgeScope = requireAuth({ scopes: ["health"], alsoRequires: ["health:bridge"] });
const EmptyBody = z.strictObject({}).openapi("HealthEmptyBody");

/** 401 before anything else when the route needs the user's token and none came. */
const requireHealthToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  readHealthToken(c.req.header(HEALTH_TOKEN_HEADER));
  await next();
};

const upstreamErrors = {
  401: errorResponse("UNAUTHORIZED: no or bad caller credentials, or no X-Health-Token; UPSTREAM_UNAUTHORIZED: UMANG refused the user's token"),
  403: errorResponse(
    "FORBIDDEN: the caller lacks the route's scopes (`health`; `health:bridge` too where marked); UPSTREAM_FORBIDDEN: UMANG refused the operation",
  ),
  404: errorResponse("UPSTREAM_NOT_FOUND: UMANG found no such resource"),
  409: errorResponse("UPSTREAM_CONFLICT: the resource is not in a state that allows this"),
  422: errorResponse("UPSTREAM_REJECTED: UMANG rejected the request (details: status, code, message of its error)"),
  502: errorResponse("UPSTREAM_UNAVAILABLE: UMANG failed or answered outside its envelope"),
  503: {
    ...errorResponse(
      "CONFIG_INVALID: the UMANG adapter is not configured; UPSTREAM_RATE_LIMITED: UMANG is limiting the gateway's requests (retry after Retry-After)",
    ),
    headers: { "Retry-After": { description: "Seconds to wait (UPSTREAM_RATE_LIMITED)", schema: { type: "integer" as const, minimum: 1 } } },
  },
  504: errorResponse("UPSTREAM_TIMEOUT: UMANG did not answer within UPSTREAM_TIMEOUT_MS"),
};

const tokenHeader = (op: HealthOperation) =>
  op.userToken === "none"
    ? undefined
    : z.object({
        "x-health-token": z.string().openapi({
          param: { name: "x-health-token", in: "header", required: true },
          description:
            op.userToken === "xAuthToken"
              ? "The user's token (from /v1/health/auth/confirm or /auth/login), with or without `Bearer `"
              : "The temporary token from PIN verification or the forgotten-PIN OTP step",
        }),
      });

function routeFor(op: HealthOperation) {
  const scopes = requiredScopes(op);
  const request: RouteConfig["request"] = {};
  if (op.params) request.params = op.params as never;
  if (op.query) request.query = op.query as never;
  const headers = tokenHeader(op);
  if (headers) request.headers = headers as never;
  if (op.body) request.body = { required: true, content: { "application/json": { schema: op.body as never } } };
  // A POST/PUT without input takes no body, or an empty JSON object: unknown fields are still a 400.
  else if (op.method !== "get") request.body = { required: false, content: { "application/json": { schema: EmptyBody as never } } };
  return createRoute({
    method: op.method,
    path: op.path,
    operationId: op.id,
    tags: ["health"],
    summary: op.summary,
    description: `${op.description ? `${op.description}\n\n` : ""}UMANG op \`${op.op}\`; user token: ${
      op.userToken === "none" ? "none" : `X-Health-Token → \`${op.userToken}\``
    }${op.gatewayAuth ? "; carries the gateway's session `authorization`, so it acts as the gateway's ABDM bridge" : ""}. Needs scope ${scopes
      .map((s) => `\`${s}\``)
      .join(" and ")}. The answer is the op's \`pd\`.`,
    // The documented security (OAuth2 with these scopes, x-scopes) is read from the requireAuth
    // middleware below by the router (src/http/router.ts), so it cannot drift from what is enforced.
    middleware: ((op.gatewayAuth ? [bridgeScope] : [healthScope]) as MiddlewareHandler<AppEnv>[]).concat(
      op.userToken === "none" ? [] : [requireHealthToken],
    ) as [MiddlewareHandler<AppEnv>],
    request,
    responses: {
      200: { description: "The op's `pd`", content: { "application/json": { schema: (op.response ?? z.unknown()) as never } } },
      ...commonErrorResponses,
      ...upstreamErrors,
    },
  });
}

function handlerFor(op: HealthOperation) {
  return async (c: Context<AppEnv>) => {
    const valid = (c.req.valid as unknown as (target: string) => Record<string, unknown>).bind(c.req);
    const input = {
      ...(op.params ? valid("param") : {}),
      ...(op.query ? valid("query") : {}),
      ...(op.body ? valid("json") : {}),
    } as never;
    const tokenFields: Record<string, string> = {};
    if (op.userToken !== "none") {
      const token = readHealthToken(c.req.header(HEALTH_TOKEN_HEADER));
      tokenFields[op.userToken] = op.userToken === "xAuthToken" ? `Bearer ${token}` : token;
    }
    // The primary (not the request's D1 session): the transaction log batches rows per isolate and never reads.
    const { primary: db, logger, defer } = c.get("services");
    // The transaction log is written after the response (waitUntil), off the request's path.
    const ctx = { requestId: c.get("requestId"), logger, recorder: transactionLog(db, defer) };
    const call = (wire: Record<string, unknown>) => callOp(c.env, op.op, { ...wire, ...tokenFields }, ctx, { gatewayAuth: op.gatewayAuth });
    const pd = op.run ? await op.run(call, input) : await call(op.toWire(input));
    // Personal health data: never cached by anything between the gateway and the caller.
    c.header("Cache-Control", "no-store");
    return c.json(pd as never, 200);
  };
}

/** Every health route, generated from the operations table (CONTRACT §6). */
export function registerHealthRoutes(app: Router) {
  for (const op of HEALTH_OPERATIONS) {
    app.openapi(routeFor(op), handlerFor(op) as never);
  }
}
