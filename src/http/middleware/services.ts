import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { createDb } from "../../storage/db";
import { createLogger } from "../../lib/logger";

/** Builds the per-request services once; routes read them with c.get("services"). */
export const services = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  c.set("services", {
    db: createDb(c.env.DB),
    logger: createLogger({ requestId: c.get("requestId") }),
    defer: (work) => {
      const settled = work.catch(() => undefined);
      try {
        c.executionCtx.waitUntil(settled);
      } catch {
        // No execution context (app.fetch called directly): the work still runs to its end.
      }
    },
  });
  await next();
};
