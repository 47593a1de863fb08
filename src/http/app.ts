import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import type { AppEnv } from "./context";
import { GatewayError, codeToStatus, errorBody, type ErrorCode } from "./errors";
import { createRouter } from "./router";
import { requestId } from "./middleware/request-id";
import { services } from "./middleware/services";
import { accessLog } from "./middleware/access-log";
import { jsonBody } from "./middleware/body";
import { createLogger, errorKind } from "../lib/logger";
import { registerSystemRoutes } from "./routes/system";
import { registerAuthRoutes } from "./routes/auth";
import { registerAdminRoutes } from "./routes/admin";
import { registerClaimsRoutes } from "./routes/claims";
import { registerHealthRoutes } from "./routes/health";
import { registerFiscalRoutes } from "./routes/fiscal";
import { registerFundsRoutes } from "./routes/funds";
import { registerConsole, registerOpsRoutes } from "../console";
import { registerOpenApiComponents } from "./openapi";

const STATUS_CODE: Record<number, ErrorCode> = {
  400: "VALIDATION_FAILED",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  422: "BUSINESS_RULE",
  429: "RATE_LIMITED",
};

export function handleError(err: unknown, c: Context<AppEnv>): Response {
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  if (err instanceof GatewayError) {
    for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
    if (codeToStatus(err.code) >= 500) {
      (c.get("services")?.logger ?? createLogger({ requestId })).warn("request failed", { code: err.code, reason: err.message });
    }
    return c.json(errorBody(err.code, err.message, requestId, err.details), codeToStatus(err.code));
  }
  if (err instanceof HTTPException && err.status < 500) {
    const code = STATUS_CODE[err.status] ?? "VALIDATION_FAILED";
    return c.json(errorBody(code, err.message || code.toLowerCase(), requestId), codeToStatus(code));
  }
  // Never a stack trace or an internal message toward the caller; the log gets the error's kind.
  (c.get("services")?.logger ?? createLogger({ requestId })).error("unhandled error", { kind: errorKind(err) });
  return c.json(errorBody("INTERNAL_ERROR", "internal error", requestId), 500);
}

/** The gateway's HTTP surface: one OpenAPIHono app, areas registered by their own modules. */
export function createApp() {
  const app = createRouter();
  app.use("*", requestId(), services(), accessLog());
  const body = jsonBody();
  // The token endpoint reads its own body: every failure there is RFC 6749-shaped.
  app.use("/v1/*", async (c, next) => (c.req.path === "/v1/auth/token" ? next() : body(c, next)));
  app.use("/ifix/*", body);

  registerSystemRoutes(app);
  registerAuthRoutes(app);
  registerAdminRoutes(app);
  registerClaimsRoutes(app);
  registerHealthRoutes(app);
  registerFiscalRoutes(app);
  registerFundsRoutes(app);
  registerConsole(app);
  registerOpsRoutes(app);

  registerOpenApiComponents(app);

  app.notFound((c) => c.json(errorBody("NOT_FOUND", "no such route", c.get("requestId") ?? crypto.randomUUID()), 404));
  app.onError(handleError);
  return app;
}

export type App = ReturnType<typeof createApp>;

/** The OpenAPI document's header (kept here for importers; the document is built in ./openapi). */
export { OPENAPI_INFO } from "./openapi";
