import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { createDb, type Db } from "../../storage/db";
import { createLogger } from "../../lib/logger";

// One drizzle instance per D1 binding object (the same object for the isolate's life).
const dbs = new WeakMap<D1Database, Db>();
const dbFor = (d1: D1Database): Db => {
  let db = dbs.get(d1);
  if (!db) dbs.set(d1, (db = createDb(d1)));
  return db;
};

/** Builds the per-request services once; routes read them with c.get("services"). */
export const services = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  c.set("services", {
    db: dbFor(c.env.DB),
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
