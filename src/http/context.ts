import type { Env } from "../env";
import type { Logger } from "../lib/logger";
import type { Db } from "../storage/db";

/** Who is calling. Admin = ADMIN_API_KEY; clients carry scopes (CONTRACT §4). */
export type Principal =
  | { kind: "admin"; id: "admin" }
  | { kind: "client"; id: string; name: string; scopes: string[] };

export interface Services {
  db: Db;
  logger: Logger;
  /** Runs work after the response (ctx.waitUntil): for best-effort writes such as the transaction log. */
  defer: (work: Promise<unknown>) => void;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    services: Services;
    principal?: Principal;
    /** The parsed JSON body (strict numbers), set by the body middleware. */
    jsonBody?: unknown;
  };
}

export const actorOf = (p: Principal | undefined): string => (!p ? "anonymous" : p.kind === "admin" ? "admin" : `client:${p.id}`);

/** The client id that owns what a principal creates; admin-created resources belong to "admin". */
export const ownerOf = (p: Principal): string => p.id;
