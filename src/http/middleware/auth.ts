import type { Context, MiddlewareHandler } from "hono";
import { eq } from "drizzle-orm";
import type { AppEnv, Principal } from "../context";
import { ApiError } from "../errors";
import { getAuthConfig, type Env } from "../../env";
import { clients } from "../../storage/schema/clients";
import { parseSigningKeys, verifyCallerToken, type SigningKey } from "../../domain/security/caller-tokens";
import { sha256Hex, timingSafeEqual } from "../../domain/security/crypto";
import type { Scope } from "../../domain/security/scopes";
import { liveClient } from "../../domain/clients";

const keyCache = new WeakMap<object, SigningKey[]>();

export function signingKeys(env: Env): SigningKey[] {
  let keys = keyCache.get(env);
  if (!keys) {
    try {
      keys = parseSigningKeys(getAuthConfig(env).JWT_SIGNING_KEY);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError("CONFIG_INVALID", "auth is not configured: JWT_SIGNING_KEY malformed", {
        details: [{ path: "JWT_SIGNING_KEY", message: "malformed" }],
      });
    }
    keyCache.set(env, keys);
  }
  return keys;
}

const unauthorized = (message = "missing or invalid credentials") =>
  new ApiError("UNAUTHORIZED", message, { headers: { "WWW-Authenticate": 'Bearer realm="amrit-edge-gateway"' } });

/** Resolves the caller from `Authorization: Bearer` or `X-API-Key`; the admin key is a principal too. */
export async function resolvePrincipal(c: Context<AppEnv>): Promise<Principal | null> {
  const db = c.get("services").db;
  const auth = c.req.header("authorization");
  const apiKey = c.req.header("x-api-key");
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    if (!m) return null;
    const claims = await verifyCallerToken(signingKeys(c.env), m[1]);
    if (!claims) return null;
    const row = await liveClient(db, claims.clientId, claims.generation);
    if (!row) return null;
    return { kind: "client", id: row.id, name: row.name, scopes: claims.scopes.filter((s) => row.scopes.includes(s)) };
  }
  if (apiKey) {
    const adminKey = getAuthConfig(c.env).ADMIN_API_KEY;
    if (timingSafeEqual(apiKey, adminKey)) return { kind: "admin", id: "admin" };
    const row = await db.select().from(clients).where(eq(clients.apiKeyHash, await sha256Hex(apiKey))).get();
    if (!row || row.revokedAt) return null;
    return { kind: "client", id: row.id, name: row.name, scopes: row.scopes };
  }
  return null;
}

export interface AuthOptions {
  /** Scopes any one of which admits a client. */
  scopes?: Scope[];
  /** Whether the admin key is admitted (default true). */
  admin?: boolean;
  /** Only the admin key (and, when set, clients holding one of `scopes`). */
  adminOnly?: boolean;
}

/**
 * 401 without valid credentials, 403 when they lack the route's scope. Clients are rate limited per
 * client id by the CLIENT_RATE_LIMITER binding (429 RATE_LIMITED with Retry-After).
 */
export const requireAuth = (opts: AuthOptions = {}): MiddlewareHandler<AppEnv> => async (c, next) => {
  const principal = c.get("principal") ?? (await resolvePrincipal(c));
  if (!principal) throw unauthorized();
  c.set("principal", principal);
  if (principal.kind === "admin") {
    if (opts.admin === false) throw new ApiError("FORBIDDEN", "the admin key cannot call this route; use a client");
  } else {
    const allowed = opts.scopes ?? [];
    const ok = allowed.some((s) => principal.scopes.includes(s));
    if (!ok) throw new ApiError("FORBIDDEN", opts.adminOnly ? "this route needs the admin key" : `this route needs scope ${allowed.join(" or ")}`);
    const limiter = c.env.CLIENT_RATE_LIMITER;
    if (limiter) {
      const { success } = await limiter.limit({ key: principal.id });
      if (!success) throw new ApiError("RATE_LIMITED", "too many requests for this client", { headers: { "Retry-After": "60" } });
    }
  }
  await next();
};

/** True when the principal may see a resource owned by `ownerId` (admin sees everything). */
export function canSee(principal: Principal | undefined, ownerId: string): boolean {
  return !!principal && (principal.kind === "admin" || principal.id === ownerId);
}
