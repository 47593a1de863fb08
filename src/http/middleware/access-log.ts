import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../context";

/** One JSON line per request: method, route pattern (never the raw URL), status, duration, ids. */
export const accessLog = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  const started = performance.now();
  await next();
  const principal = c.get("principal");
  c.get("services")?.logger.info("request", {
    method: c.req.method,
    route: safeRoute(c),
    status: c.res.status,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    clientId: principal?.id ?? null,
  });
};

function safeRoute(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  try {
    const r = routePath(c, -1);
    return r && r !== "/*" ? r : "unmatched";
  } catch {
    return "unmatched";
  }
}
