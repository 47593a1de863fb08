import { z } from "zod";
import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from "jose";
import { defineConfig, isDevelopment, readVar, type Env } from "../env";
import { GatewayError } from "../errors";
import { CONSOLE_ROLES_LIST, roleFor, type ConsoleRole } from "./roles";

/**
 * Cloudflare Access in front of /console (CONTRACT §2, §10). Access signs an application token
 * (RS256) for each person it lets through and hands it to the origin in the
 * `Cf-Access-Jwt-Assertion` header (and the `CF_Authorization` cookie); the team's public keys are
 * at `${CF_ACCESS_TEAM_DOMAIN}/cdn-cgi/access/certs`. The console trusts a person only once that
 * token verifies: signature against those keys, issuer = the team domain, audience = CF_ACCESS_AUD
 * (aud is an array), not expired.
 */
export const ACCESS_HEADER = "cf-access-jwt-assertion";
export const ACCESS_COOKIE = "CF_Authorization";
const MAX_TOKEN_LENGTH = 8192;

const EMAIL_KEY = /^[^\s@*]+@[^\s@*]+\.[^\s@*]+$/;
const DOMAIN_KEY = /^\*@[^\s@*]+\.[^\s@*]+$/;

/** CONSOLE_ROLES: JSON `{ "<email>" | "*@<domain>": "viewer" | "operator" | "admin" }`; unset = nobody. */
const consoleRoles = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === "") return {} as Record<string, ConsoleRole>;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      ctx.addIssue({ code: "custom", message: "not JSON" });
      return z.NEVER;
    }
    const shape = z.record(z.string().max(254), z.enum(CONSOLE_ROLES_LIST)).safeParse(parsed);
    if (!shape.success || Object.keys(shape.data).length > 1000) {
      ctx.addIssue({ code: "custom", message: 'an object of "<email>" or "*@<domain>" to viewer, operator or admin' });
      return z.NEVER;
    }
    const out: Record<string, ConsoleRole> = {};
    for (const [k, role] of Object.entries(shape.data)) {
      const key = k.trim().toLowerCase();
      if (!EMAIL_KEY.test(key) && !DOMAIN_KEY.test(key)) {
        ctx.addIssue({ code: "custom", message: 'keys are an email or "*@<domain>"' });
        return z.NEVER;
      }
      out[key] = role;
    }
    return out;
  });

const teamDomain = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^https?$/ }))
  .transform((u) => u.replace(/\/+$/, ""));

const accessConfig = defineConfig(
  "console access",
  z.object({
    CF_ACCESS_TEAM_DOMAIN: teamDomain,
    CF_ACCESS_AUD: z.string().trim().min(8).max(256),
    CONSOLE_ROLES: consoleRoles,
  }),
);

/**
 * Read only when Access is switched on (either CF_ACCESS_* name set). The team domain must be HTTPS
 * outside development, where the local stand-in serves plain HTTP.
 */
export function getAccessConfig(env: Env) {
  const conf = accessConfig(env);
  if (!conf.CF_ACCESS_TEAM_DOMAIN.startsWith("https://") && !isDevelopment(env)) {
    // As defineConfig words it: the variable named, its value never echoed.
    throw new GatewayError("CONFIG_INVALID", "console access is not configured: CF_ACCESS_TEAM_DOMAIN missing or malformed", {
      details: [{ path: "CF_ACCESS_TEAM_DOMAIN", message: "malformed" }],
    });
  }
  return conf;
}

/** Access is on where either name is set; a half-set pair is a configuration error, never "off". */
export const accessEnabled = (env: Env): boolean => !!(readVar(env, "CF_ACCESS_TEAM_DOMAIN") || readVar(env, "CF_ACCESS_AUD"));

// One key set per team domain per isolate: jose caches the keys (10 min) and refetches at most every
// 30 s when a token names a key it has not seen (Access rotates its keys every six weeks).
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function keySetFor(team: string) {
  let set = keySets.get(team);
  if (!set) {
    set = createRemoteJWKSet(new URL(`${team}/cdn-cgi/access/certs`), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    if (keySets.size > 8) keySets.clear();
    keySets.set(team, set);
  }
  return set;
}

export interface AccessIdentity {
  email: string;
  role: ConsoleRole | null;
  /** Epoch seconds. */
  expiresAt: number;
}

export type AccessResult = { ok: true; identity: AccessIdentity } | { ok: false; reason: "absent" | "invalid" | "keys_unavailable" };

/** The assertion a request carries: the header Access sets, else its cookie. */
export function assertionOf(req: Request): string | null {
  const header = req.headers.get(ACCESS_HEADER)?.trim();
  if (header) return header;
  const cookie = req.headers.get("cookie") ?? "";
  for (const part of cookie.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === ACCESS_COOKIE) return part.slice(i + 1).trim() || null;
  }
  return null;
}

/** Verifies an Access assertion and finds the person's role (null: no role, no access). */
export async function verifyAssertion(env: Env, token: string | null): Promise<AccessResult> {
  if (!token) return { ok: false, reason: "absent" };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "invalid" };
  const conf = getAccessConfig(env);
  try {
    const { payload } = await jwtVerify(token, keySetFor(conf.CF_ACCESS_TEAM_DOMAIN), {
      algorithms: ["RS256"],
      issuer: conf.CF_ACCESS_TEAM_DOMAIN,
      audience: conf.CF_ACCESS_AUD,
      requiredClaims: ["exp", "iat"],
      clockTolerance: 5,
    });
    const email = typeof payload.email === "string" ? payload.email.trim().toLowerCase() : "";
    // Service tokens carry no email: they are not people and never reach the console.
    if (!EMAIL_KEY.test(email) || typeof payload.exp !== "number") return { ok: false, reason: "invalid" };
    return { ok: true, identity: { email, role: roleFor(email, conf.CONSOLE_ROLES), expiresAt: payload.exp } };
  } catch (err) {
    // The keys could not be fetched or read (timeout, network, a non-200 or non-JSON answer).
    const code = err instanceof joseErrors.JOSEError ? err.code : null;
    if (code === null || code === "ERR_JWKS_TIMEOUT" || code === "ERR_JWKS_INVALID" || code === "ERR_JOSE_GENERIC")
      return { ok: false, reason: "keys_unavailable" };
    return { ok: false, reason: "invalid" };
  }
}

/** Where a person goes to sign in through Access, and back (the stand-in reads `kid` as real Access does). */
export function accessLoginUrl(env: Env, returnTo: string): string {
  const conf = getAccessConfig(env);
  const u = new URL(`${conf.CF_ACCESS_TEAM_DOMAIN}/cdn-cgi/access/login/${new URL(returnTo).host}`);
  u.searchParams.set("kid", conf.CF_ACCESS_AUD);
  u.searchParams.set("redirect_url", returnTo);
  return u.toString();
}

export const accessLogoutUrl = (env: Env): string => `${getAccessConfig(env).CF_ACCESS_TEAM_DOMAIN}/cdn-cgi/access/logout`;
