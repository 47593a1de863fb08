import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import { SignJWT, jwtVerify, decodeProtectedHeader } from "jose";
import { ADMIN_PRINCIPAL, clientPrincipal, type AppEnv, type Principal } from "../http/context";
import { getAuthConfig } from "../env";
import { signingKeys } from "../http/middleware/auth";
import { liveClient } from "../domain/clients";
import { randomToken, sha256Hex, timingSafeEqual } from "../domain/security/crypto";

/**
 * Console sessions: an HS256 JWT signed with JWT_SIGNING_KEY's first key (any listed key verifies, so
 * the signing key rotates like caller tokens), in an HttpOnly, Secure, SameSite=Strict cookie scoped
 * to /console. Its own audience keeps it apart from caller tokens (neither is accepted as the other).
 * It carries the principal, the client's generation (a rotation or revocation ends the session at
 * once: checked on every request against D1), a fingerprint of the admin key (changing
 * ADMIN_API_KEY ends admin sessions) and the per-session CSRF token. Never the key itself.
 */
export const SESSION_COOKIE = "amrit_console";
export const SESSION_TTL_SECONDS = 8 * 3600;
const ISSUER = "amrit-edge-gateway";
const AUDIENCE = "amrit-edge-gateway/console";

export interface ConsoleSession {
  principal: Principal;
  csrf: string;
  expiresAt: number;
}

type ConsoleEnv = AppEnv & { Variables: AppEnv["Variables"] & { session?: ConsoleSession } };
export type { ConsoleEnv };

const adminFingerprint = async (key: string) => (await sha256Hex(`console-session:${key}`)).slice(0, 32);

export async function issueSession(c: Context<ConsoleEnv>, principal: Principal, generation: number): Promise<void> {
  const [key] = signingKeys(c.env);
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { kind: principal.kind, csrf: randomToken(24) };
  if (principal.kind === "admin") claims.akf = await adminFingerprint(getAuthConfig(c.env).ADMIN_API_KEY);
  else claims.gen = generation;
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", kid: key.kid, typ: "JWT" })
    .setSubject(principal.id)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + SESSION_TTL_SECONDS)
    .setJti(crypto.randomUUID())
    .sign(key.secret);
  setCookie(c, SESSION_COOKIE, jwt, {
    path: "/console",
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    maxAge: SESSION_TTL_SECONDS,
  });
}

export function clearSession(c: Context<ConsoleEnv>) {
  deleteCookie(c, SESSION_COOKIE, { path: "/console", secure: true, httpOnly: true, sameSite: "Strict" });
}

/** The session behind the request's cookie, or null (bad signature, expired, revoked, rotated, no ops). */
export async function readSession(c: Context<ConsoleEnv>): Promise<ConsoleSession | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || token.length > 4096) return null;
  let payload: Record<string, unknown>;
  try {
    const { kid, alg } = decodeProtectedHeader(token);
    if (alg !== "HS256") return null;
    const key = signingKeys(c.env).find((k) => k.kid === kid);
    if (!key) return null;
    payload = (await jwtVerify(token, key.secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ["HS256"] })).payload as Record<string, unknown>;
  } catch {
    return null;
  }
  const { sub, csrf, exp, kind } = payload as { sub?: unknown; csrf?: unknown; exp?: unknown; kind?: unknown };
  if (typeof sub !== "string" || typeof csrf !== "string" || typeof exp !== "number") return null;
  if (kind === "admin") {
    if (sub !== "admin" || typeof payload.akf !== "string") return null;
    if (!timingSafeEqual(payload.akf, await adminFingerprint(getAuthConfig(c.env).ADMIN_API_KEY))) return null;
    return { principal: ADMIN_PRINCIPAL, csrf, expiresAt: exp };
  }
  if (kind !== "client" || typeof payload.gen !== "number") return null;
  const row = await liveClient(c.get("services").db, sub, payload.gen, c.get("services").defer);
  if (!row || !row.scopes.includes("ops")) return null;
  return { principal: clientPrincipal(row), csrf, expiresAt: exp };
}

/** Resolves the session for console pages; without one, GETs redirect to the sign-in form. */
export const requireSession = (): MiddlewareHandler<ConsoleEnv> => async (c, next) => {
  const session = await readSession(c);
  if (!session) {
    if (getCookie(c, SESSION_COOKIE)) clearSession(c);
    if (c.req.method === "GET") return c.redirect("/console", 303);
    return c.text("Your session has ended: sign in again.", 401);
  }
  c.set("session", session);
  c.set("principal", session.principal);
  await next();
};

/** Every POST from a signed-in page must carry the session's CSRF token in `_csrf`. */
export async function checkCsrf(c: Context<ConsoleEnv>, form: Record<string, unknown>): Promise<boolean> {
  const session = c.get("session");
  const sent = form._csrf;
  return !!session && typeof sent === "string" && sent.length > 0 && timingSafeEqual(sent, session.csrf);
}

/** Sign-in has no session yet: refuse cross-site posts by their Origin (SameSite does not cover them). */
export function sameOrigin(c: Context<ConsoleEnv>): boolean {
  const origin = c.req.header("origin");
  if (!origin || origin === "null") return origin !== "null";
  try {
    return new URL(origin).host === new URL(c.req.url).host;
  } catch {
    return false;
  }
}
