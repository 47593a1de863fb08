import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Services } from "../context";
import { createDb, type Db } from "../../storage/db";
import { createLogger } from "../../lib/logger";
import { issueBookmark, readBookmark, rememberBookmark, rememberedBookmark } from "./d1-bookmarks";

// One drizzle instance per D1 binding object (the same object for the isolate's life).
const dbs = new WeakMap<D1Database, Db>();
const dbFor = (d1: D1Database): Db => {
  let db = dbs.get(d1);
  if (!db) dbs.set(d1, (db = createDb(d1)));
  return db;
};

const READ_ONLY = new Set(["GET", "HEAD"]);

/**
 * Builds the per-request services; routes read them with c.get("services").
 *
 * `db` is a D1 session (read replication, the Sessions API), made on first use so a route that never
 * touches D1 pays nothing: a read-only request starts from the caller's bookmark (the
 * `X-D1-Bookmark` header of an earlier answer, else the last one this isolate gave the same caller)
 * or, without one, from the nearest replica; any other request starts at the primary. Every answer
 * that used D1 carries the session's bookmark, signed, so the caller's next read sees at least what
 * this request wrote or saw. `primary` is plain D1 (no session), for the caller check.
 */
export const services = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  let session: D1DatabaseSession | undefined;
  let db: Db | undefined;
  const requested = await readBookmark(c);
  const open = () => {
    const principal = c.get("principal");
    const start =
      requested ?? (principal && rememberedBookmark(principal.id)) ?? (READ_ONLY.has(c.req.method) ? "first-unconstrained" : "first-primary");
    session = c.env.DB.withSession(start);
    return createDb(session as unknown as D1Database);
  };
  const s: Services = {
    get db() {
      return (db ??= open());
    },
    primary: dbFor(c.env.DB),
    logger: createLogger({ requestId: c.get("requestId") }),
    defer: (work) => {
      const settled = work.catch(() => undefined);
      try {
        c.executionCtx.waitUntil(settled);
      } catch {
        // No execution context (app.fetch called directly): the work still runs to its end.
      }
    },
  };
  c.set("services", s);
  await next();
  if (session) await answerBookmark(c, session);
};

async function answerBookmark(c: Context<AppEnv>, session: D1DatabaseSession) {
  const bookmark = session.getBookmark();
  if (!bookmark) return;
  const principal = c.get("principal");
  if (principal && !READ_ONLY.has(c.req.method)) rememberBookmark(principal.id, bookmark);
  const signed = await issueBookmark(c, bookmark);
  if (signed) c.header("X-D1-Bookmark", signed);
}
