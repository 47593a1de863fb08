import type { Context, MiddlewareHandler } from "hono";
import { ADMIN_PRINCIPAL, clientPrincipal, type AppEnv, type Principal } from "../context";
import { GatewayError } from "../errors";
import { getAuthConfig, type Env } from "../../env";
import { parseSigningKeys, verifyCallerToken, type SigningKey } from "../../domain/security/caller-tokens";
import { sha256Hex, timingSafeEqual } from "../../domain/security/crypto";
import { tenantAllowed, type Scope } from "../../domain/security/scopes";
import { clientLoader, liveClient } from "../../domain/clients";
import { clientDirectory } from "../../domain/client-directory";
import { credentialFailures } from "./credential-failures";

const keyCache = new WeakMap<object, SigningKey[]>();

export function signingKeys(env: Env): SigningKey[] {
  let keys = keyCache.get(env);
  if (!keys) {
    try {
      keys = parseSigningKeys(getAuthConfig(env).JWT_SIGNING_KEY);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError("CONFIG_INVALID", "auth is not configured: JWT_SIGNING_KEY malformed", {
        details: [{ path: "JWT_SIGNING_KEY", message: "malformed" }],
      });
    }
    keyCache.set(env, keys);
  }
  return keys;
}

const unauthorized = (message = "missing or invalid credentials") =>
  new GatewayError("UNAUTHORIZED", message, { headers: { "WWW-Authenticate": 'Bearer realm="amrit-edge-gateway"' } });

/**
 * Resolves the caller from `Authorization: Bearer` or `X-API-Key`; the admin key is a principal too.
 * No D1 read while the client's record is fresh in the isolate's directory (CONTRACT §4).
 * `undefined` = no credentials presented; `null` = credentials presented that do not hold.
 */
export async function resolvePrincipal(c: Context<AppEnv>): Promise<Principal | null | undefined> {
  const { primary: db, defer } = c.get("services");
  const auth = c.req.header("authorization");
  const apiKey = c.req.header("x-api-key");
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    if (!m) return null;
    const claims = await verifyCallerToken(signingKeys(c.env), m[1]);
    if (!claims) return null;
    const row = await liveClient(db, claims.clientId, claims.generation, defer);
    return row ? clientPrincipal(row) : null;
  }
  if (apiKey) {
    const adminKey = getAuthConfig(c.env).ADMIN_API_KEY;
    if (timingSafeEqual(apiKey, adminKey)) return ADMIN_PRINCIPAL;
    const row = await clientDirectory.byKeyHash(clientLoader(db), await sha256Hex(apiKey), defer);
    return row && !row.revoked ? clientPrincipal(row) : null;
  }
  return undefined;
}

export interface AuthOptions {
  /** Scopes any one of which admits a client. */
  scopes?: Scope[];
  /** Scopes a client must hold besides one of `scopes` (e.g. `health:bridge`). */
  alsoRequires?: Scope[];
  /** Whether the admin key is admitted (default true). */
  admin?: boolean;
  /** Only the admin key (and, when set, clients holding one of `scopes`). */
  adminOnly?: boolean;
}

/** The options a `requireAuth` middleware was made with (the OpenAPI document reads each route's scopes from them). */
export const authOptionsOf = (middleware: unknown): AuthOptions | undefined =>
  typeof middleware === "function" ? (middleware as { authOptions?: AuthOptions }).authOptions : undefined;

/**
 * 401 without valid credentials, 403 when they lack the route's scope. Credentials that do not hold
 * count against the caller's address (CREDENTIAL_FAILURE_LIMITER); past its limit the address gets
 * 429 for every credential it presents, right or wrong, until the window passes, so keys cannot be
 * guessed at speed. Clients are rate limited per client id by CLIENT_RATE_LIMITER.
 */
export const requireAuth = (opts: AuthOptions = {}): MiddlewareHandler<AppEnv> =>
  Object.assign(
    async (c: Context<AppEnv>, next: () => Promise<void>) => {
      let principal = c.get("principal");
      if (!principal) {
        const failures = credentialFailures(c);
        failures.refuseIfBlocked();
        const resolved = await resolvePrincipal(c);
        if (resolved === undefined) throw unauthorized();
        if (resolved === null) {
          await failures.record();
          throw unauthorized();
        }
        principal = resolved;
      }
      c.set("principal", principal);
      if (principal.kind === "admin") {
        if (opts.admin === false) throw new GatewayError("FORBIDDEN", "the admin key cannot call this route; use a client");
      } else {
        const allowed = opts.scopes ?? [];
        const held = principal.scopes;
        if (!allowed.some((s) => held.includes(s))) {
          throw new GatewayError("FORBIDDEN", opts.adminOnly ? "this route needs the admin key" : `this route needs scope ${allowed.join(" or ")}`);
        }
        const missing = (opts.alsoRequires ?? []).filter((s) => !held.includes(s));
        if (missing.length) throw new GatewayError("FORBIDDEN", `this route also needs scope ${missing.join(" and ")}`);
        const limiter = c.env.CLIENT_RATE_LIMITER;
        if (limiter) {
          const { success } = await limiter.limit({ key: principal.id });
          if (!success) throw new GatewayError("RATE_LIMITED", "too many requests for this client", { headers: { "Retry-After": "60" } });
        }
      }
      await next();
    },
    { authOptions: opts },
  );

/** True when the principal may see a resource owned by `ownerId` (admin sees everything). */
export function canSee(principal: Principal | undefined, ownerId: string): boolean {
  return !!principal && (principal.kind === "admin" || principal.id === ownerId);
}

/** 403 unless the principal's tenants admit `tenantId` (CONTRACT §4). */
export function requireTenant(principal: Principal, tenantId: string): void {
  if (!tenantAllowed(principal.tenants, tenantId)) {
    throw new GatewayError("FORBIDDEN", "this client may not act for that tenant", {
      details: [{ path: "tenantId", message: "outside the client's tenants" }],
    });
  }
}
