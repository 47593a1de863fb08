import type { Env } from "../env";
import type { Logger } from "../lib/logger";
import type { Db } from "../storage/db";
import type { ClientRecord } from "../domain/client-directory";
import { ALL_TENANTS } from "../domain/security/scopes";

/** A named person's role in the operators' console (CONTRACT §10). */
export type ConsoleRole = "viewer" | "operator" | "admin";

/**
 * Who is calling. Admin = ADMIN_API_KEY; clients carry scopes and tenants (CONTRACT §4); a person
 * (console only, signed in through Cloudflare Access) carries no scopes: the JSON API never admits one.
 */
export type Principal =
  | { kind: "admin"; id: "admin"; tenants: readonly string[] }
  | { kind: "client"; id: string; name: string; scopes: string[]; tenants: readonly string[] }
  | { kind: "person"; id: string; name: string; email: string; role: ConsoleRole; scopes: string[]; tenants: readonly string[] };

/** The admin key reaches every tenant. */
export const ADMIN_PRINCIPAL: Principal = Object.freeze({ kind: "admin", id: "admin", tenants: Object.freeze([ALL_TENANTS]) });

/**
 * A client as a principal. Scopes and tenants come from the client's record (not from the token),
 * so a change to them takes effect for tokens already issued, within the directory's bound.
 */
export const clientPrincipal = (r: ClientRecord): Principal => ({ kind: "client", id: r.id, name: r.name, scopes: r.scopes, tenants: r.tenants });

export interface Services {
  /** D1 through a read-replication session (see middleware/services.ts); made on first use. */
  readonly db: Db;
  /** D1 without a session (the primary): for the caller check. */
  primary: Db;
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

/** The audit log's "who": a person is their email (CONTRACT §10). */
export const actorOf = (p: Principal | undefined): string =>
  !p ? "anonymous" : p.kind === "admin" ? "admin" : p.kind === "person" ? p.email : `client:${p.id}`;

/** The client id that owns what a principal creates; admin-created resources belong to "admin". */
export const ownerOf = (p: Principal): string => p.id;
