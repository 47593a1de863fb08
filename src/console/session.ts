import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import { and, eq, isNull, lt } from "drizzle-orm";
import { ADMIN_PRINCIPAL, clientPrincipal, type AppEnv, type Principal } from "../http/context";
import { getAuthConfig, type Env } from "../env";
import { signingKeys } from "../http/middleware/auth";
import { liveClient } from "../domain/clients";
import { ALL_TENANTS } from "../domain/security/scopes";
import { randomToken, sha256Hex, timingSafeEqual, toBase64Url } from "../domain/security/crypto";
import type { Db } from "../storage/db";
import { consoleSessions } from "../storage/schema/console-sessions";
import { auditInsert } from "../storage/audit";
import { accessEnabled, assertionOf, verifyAssertion, ACCESS_COOKIE, type AccessResult } from "./access";
import { roleOf, type ConsoleRole } from "./roles";

/**
 * Console sessions live on the server (issue 13, issue 15 item 16): one `console_sessions` row each,
 * read on every console request, so signing out ends a session everywhere at once. The browser holds
 * nothing readable: the admin key and operator-client sign-ins get a random token in an HttpOnly,
 * Secure, SameSite=Strict cookie scoped to /console; a person signed in through Cloudflare Access
 * holds Access's own assertion (no cookie of ours). The row is keyed by the SHA-256 of what the
 * browser presents, never by the token itself.
 *
 * The CSRF token of a session is an HMAC of its id keyed with JWT_SIGNING_KEY: stable for the
 * session, different for every session, never stored.
 */
export const SESSION_COOKIE = "amrit_console";
export const SESSION_TTL_SECONDS = 8 * 3600;
/** A break-glass sign-in (the admin key while Access is configured) is for an emergency: one hour. */
export const BREAK_GLASS_TTL_SECONDS = 3600;
/** Rows are kept this long past their expiry (the pruning job then deletes them). */
export const SESSION_RETENTION_MS = 86_400_000;

export type SessionVia = "key" | "client" | "access";

export interface ConsoleSession {
  id: string;
  principal: Principal;
  role: ConsoleRole;
  csrf: string;
  /** Epoch seconds. */
  expiresAt: number;
  via: SessionVia;
}

type ConsoleEnv = AppEnv & { Variables: AppEnv["Variables"] & { session?: ConsoleSession } };
export type { ConsoleEnv };
type C = Context<ConsoleEnv>;

const enc = new TextEncoder();
async function hmac(secret: Uint8Array, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toBase64Url(await crypto.subtle.sign("HMAC", key, enc.encode(message)));
}

/** Ties admin sessions to the admin key without storing anything an attacker could test guesses against. */
const adminKeyCheck = async (env: Env, secret: Uint8Array) => hmac(secret, `console-admin-key:${getAuthConfig(env).ADMIN_API_KEY}`);

async function adminKeyStillValid(env: Env, stored: string | null): Promise<boolean> {
  if (!stored) return false;
  // Any signing key in the ring: rotating JWT_SIGNING_KEY does not end admin sessions early.
  for (const k of signingKeys(env)) if (timingSafeEqual(stored, await adminKeyCheck(env, k.secret))) return true;
  return false;
}

const csrfOf = async (env: Env, sessionId: string) => (await hmac(signingKeys(env)[0].secret, `console-csrf:${sessionId}`)).slice(0, 32);

const cookieOptions = { path: "/console", httpOnly: true, secure: true, sameSite: "Strict" } as const;

/** Signs in with the admin key or an operator client: a new row and a cookie holding its random token. */
export async function startSession(c: C, principal: Principal, generation: number | null, ttlSeconds = SESSION_TTL_SECONDS): Promise<void> {
  const token = randomToken(32);
  const id = await sha256Hex(`console-session:${token}`);
  const now = Date.now();
  await c
    .get("services")
    .db.insert(consoleSessions)
    .values({
      id,
      kind: principal.kind === "admin" ? "admin" : "client",
      subject: principal.id,
      generation: principal.kind === "client" ? generation : null,
      keyCheck: principal.kind === "admin" ? await adminKeyCheck(c.env, signingKeys(c.env)[0].secret) : null,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlSeconds * 1000).toISOString(),
    })
    .run();
  setCookie(c, SESSION_COOKIE, token, { ...cookieOptions, maxAge: ttlSeconds });
}

/** Ends the session on the server (its row), then in the browser. */
export async function endSession(c: C, session: ConsoleSession): Promise<void> {
  const db = c.get("services").db;
  const now = new Date().toISOString();
  if (session.via === "access") {
    // The row may not exist yet if the person signs out on their very first request.
    await db
      .insert(consoleSessions)
      .values({
        id: session.id,
        kind: "person",
        subject: session.principal.id,
        createdAt: now,
        expiresAt: new Date(session.expiresAt * 1000).toISOString(),
        endedAt: now,
      })
      .onConflictDoUpdate({ target: consoleSessions.id, set: { endedAt: now } })
      .run();
    deleteCookie(c, ACCESS_COOKIE, { path: "/", secure: true, httpOnly: true });
  } else {
    await db.update(consoleSessions).set({ endedAt: now }).where(eq(consoleSessions.id, session.id)).run();
  }
  clearSessionCookie(c);
}

export function clearSessionCookie(c: C) {
  deleteCookie(c, SESSION_COOKIE, cookieOptions);
}

/** Why there is no session: the sign-in page says so. */
export type NoSession = {
  none: true;
  reason: "absent" | "signed_out" | "no_role" | "invalid_assertion" | "keys_unavailable" | "access_misconfigured";
  email?: string;
};
export type SessionLookup = { session: ConsoleSession } | NoSession;

/** The session behind the request: our cookie first (break-glass or a sign-in without Access), then Access. */
export async function lookupSession(c: C): Promise<SessionLookup> {
  const fromCookie = await cookieSession(c);
  if (fromCookie) return { session: fromCookie };
  if (!accessEnabled(c.env)) return { none: true, reason: "absent" };
  let result: AccessResult;
  const token = assertionOf(c.req.raw);
  try {
    result = await verifyAssertion(c.env, token);
  } catch {
    // CONFIG_INVALID: nobody gets in through Access until it is fixed (the break-glass key still works).
    return { none: true, reason: "access_misconfigured" };
  }
  if (!result.ok)
    return {
      none: true,
      reason: result.reason === "absent" ? "absent" : result.reason === "keys_unavailable" ? "keys_unavailable" : "invalid_assertion",
    };
  const { email, role, expiresAt } = result.identity;
  if (!role) return { none: true, reason: "no_role", email };
  const id = await sha256Hex(`console-access:${token}`);
  const db = c.get("services").db;
  const row = await db.select({ endedAt: consoleSessions.endedAt }).from(consoleSessions).where(eq(consoleSessions.id, id)).get();
  if (row?.endedAt) return { none: true, reason: "signed_out", email };
  if (!row) await firstSight(c, db, id, email, expiresAt);
  const principal: Principal = { kind: "person", id: email, name: email, email, role, scopes: [], tenants: [ALL_TENANTS] };
  return { session: { id, principal, role, csrf: await csrfOf(c.env, id), expiresAt, via: "access" } };
}

/** The first request with an assertion starts the person's session row (and says so in the audit log). */
async function firstSight(c: C, db: Db, id: string, email: string, expiresAt: number) {
  const inserted = await db
    .insert(consoleSessions)
    .values({ id, kind: "person", subject: email, createdAt: new Date().toISOString(), expiresAt: new Date(expiresAt * 1000).toISOString() })
    .onConflictDoNothing()
    .returning({ id: consoleSessions.id });
  if (inserted.length) {
    await auditInsert(db, {
      actor: email,
      action: "console.sign_in",
      targetType: "console_session",
      targetId: email,
      after: { via: "cloudflare_access" },
      requestId: c.get("requestId"),
    }).run();
  }
}

async function cookieSession(c: C): Promise<ConsoleSession | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || token.length > 128) return null;
  const id = await sha256Hex(`console-session:${token}`);
  const { db, defer } = c.get("services");
  const row = await db
    .select()
    .from(consoleSessions)
    .where(and(eq(consoleSessions.id, id), isNull(consoleSessions.endedAt)))
    .get();
  if (!row || row.kind === "person") return null;
  const expiresAt = Math.floor(Date.parse(row.expiresAt) / 1000);
  if (!(expiresAt > Date.now() / 1000)) return null;
  let principal: Principal;
  if (row.kind === "admin") {
    if (!(await adminKeyStillValid(c.env, row.keyCheck))) return null;
    principal = ADMIN_PRINCIPAL;
  } else {
    const client = await liveClient(db, row.subject, row.generation ?? -1, defer);
    if (!client || !client.scopes.includes("ops")) return null;
    principal = clientPrincipal(client);
  }
  return { id, principal, role: roleOf(principal), csrf: await csrfOf(c.env, id), expiresAt, via: row.kind === "admin" ? "key" : "client" };
}

/** Console pages need a session; without one, GETs go to the sign-in page and posts are refused. */
export const requireSession = (): MiddlewareHandler<ConsoleEnv> => async (c, next) => {
  const found = await lookupSession(c);
  if ("none" in found) {
    if (getCookie(c, SESSION_COOKIE)) clearSessionCookie(c);
    if (c.req.method === "GET") return c.redirect("/console", 303);
    return c.text("Your session has ended: sign in again.", 401);
  }
  c.set("session", found.session);
  c.set("principal", found.session.principal);
  await next();
};

/** Every POST from a signed-in page must carry the session's CSRF token in `_csrf`. */
export function checkCsrf(c: C, form: Record<string, unknown>): boolean {
  const session = c.get("session");
  const sent = form._csrf;
  return !!session && typeof sent === "string" && sent.length > 0 && timingSafeEqual(sent, session.csrf);
}

/** Sign-in has no session yet: refuse cross-site posts by their Origin (SameSite does not cover them). */
export function sameOrigin(c: C): boolean {
  const origin = c.req.header("origin");
  if (!origin || origin === "null") return origin !== "null";
  try {
    return new URL(origin).host === new URL(c.req.url).host;
  } catch {
    return false;
  }
}

/** Deletes session rows a day past their expiry (run by the quarter-hourly cron). */
export async function pruneSessions(db: Db, now = Date.now()): Promise<number> {
  const gone = await db
    .delete(consoleSessions)
    .where(lt(consoleSessions.expiresAt, new Date(now - SESSION_RETENTION_MS).toISOString()))
    .returning({ id: consoleSessions.id });
  return gone.length;
}
