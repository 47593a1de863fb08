import type { Hono } from "hono";
import { eq } from "drizzle-orm";
import { GatewayError } from "../../errors";
import { ADMIN_PRINCIPAL, actorOf, clientPrincipal, type Principal } from "../../http/context";
import { getAuthConfig, isDevelopment } from "../../env";
import { clients } from "../../storage/schema/clients";
import { toRecord } from "../../domain/clients";
import { auditInsert } from "../../storage/audit";
import { sha256Hex, timingSafeEqual } from "../../domain/security/crypto";
import { credentialFailures } from "../../http/middleware/credential-failures";
import { createLogger } from "../../lib/logger";
import { raiseBreakGlassAlert } from "../../cron/alerts.job";
import { Document } from "../layout";
import { SignInPage } from "../pages/sign-in";
import { ACCESS_COOKIE, accessEnabled, accessLoginUrl, accessLogoutUrl, verifyAssertion } from "../access";
import {
  BREAK_GLASS_TTL_SECONDS,
  SESSION_TTL_SECONDS,
  endSession,
  lookupSession,
  requireSession,
  sameOrigin,
  startSession,
  type ConsoleEnv,
  type NoSession,
} from "../session";
import { formOf, protectedForm } from "../form";
import type { C } from "../render";
import { setCookie } from "hono/cookie";

type SignIn = { principal: Principal; generation: number | null } | { refused: string };

/** A live client, by key or by id and secret, signs in only when it holds scope `ops`. */
const operatorOf = (row: typeof clients.$inferSelect): SignIn =>
  row.scopes.includes("ops")
    ? { principal: clientPrincipal(toRecord(row)), generation: row.generation }
    : { refused: "This client has no ops scope: the console is for operators." };

async function signInPrincipal(c: C, form: Record<string, string>, accessMode: boolean): Promise<SignIn> {
  const db = c.get("services").db;
  const key = (form.key ?? "").trim();
  const clientId = (form.clientId ?? "").trim();
  const secret = form.clientSecret ?? "";
  if (key && key.length <= 512) {
    if (timingSafeEqual(key, getAuthConfig(c.env).ADMIN_API_KEY)) return { principal: ADMIN_PRINCIPAL, generation: null };
    // With Access, operators are people: a client's key is no way in (the admin key is the break-glass one).
    if (accessMode) return { refused: "Unknown key. Operators sign in through Cloudflare Access." };
    const row = await db
      .select()
      .from(clients)
      .where(eq(clients.apiKeyHash, await sha256Hex(key)))
      .get();
    if (row && !row.revokedAt) return operatorOf(row);
    return { refused: "Unknown or revoked key." };
  }
  if (!accessMode && clientId && secret && clientId.length <= 128 && secret.length <= 256) {
    const row = await db.select().from(clients).where(eq(clients.id, clientId)).get();
    const ok = timingSafeEqual(await sha256Hex(secret), row?.secretHash ?? "0".repeat(64));
    if (row && !row.revokedAt && ok) return operatorOf(row);
    return { refused: "Unknown client or wrong secret." };
  }
  return { refused: accessMode ? "Enter the admin key, or sign in through Cloudflare Access." : "Enter a key, or a client id and secret." };
}

const NO_SESSION_TEXT: Record<NoSession["reason"], string | undefined> = {
  absent: undefined,
  signed_out: "You signed out. Sign in again through Cloudflare Access to start a new session.",
  no_role: "Cloudflare Access knows you, but the console gives your email no role (CONSOLE_ROLES). Ask an admin.",
  invalid_assertion: "Your Cloudflare Access sign-in could not be verified (expired, or for another application). Sign in again.",
  keys_unavailable:
    "Cloudflare Access's keys cannot be fetched just now, so no sign-in can be verified. Try again shortly, or use the break-glass key.",
  access_misconfigured:
    "The console's Cloudflare Access configuration is invalid (see CF_ACCESS_TEAM_DOMAIN, CF_ACCESS_AUD, CONSOLE_ROLES). Only the break-glass key works.",
};

/** The sign-in page, saying why there is no session. */
export function signInPage(c: C, none: NoSession | null, flash: { error?: string; notice?: string } = {}, status: 200 | 401 | 403 = 200) {
  const accessMode = accessEnabled(c.env);
  let accessLogin: string | undefined;
  if (accessMode) {
    try {
      accessLogin = accessLoginUrl(c.env, new URL("/console", c.req.url).toString());
    } catch {
      accessLogin = undefined; // misconfigured: said below
    }
  }
  const reason = none ? NO_SESSION_TEXT[none.reason] : undefined;
  return c.html(
    <Document title="Sign in">
      <SignInPage
        accessMode={accessMode}
        accessLogin={accessLogin}
        error={flash.error ?? (none?.reason === "signed_out" ? undefined : reason)}
        notice={flash.notice ?? (none?.reason === "signed_out" ? reason : undefined)}
      />
    </Document>,
    status,
  );
}

export function registerSignIn(app: Hono<ConsoleEnv>, overview: (c: C) => Promise<Response>) {
  // The overview when signed in, else the sign-in page (saying why: signed out, no role, …).
  app.get("/", async (c) => {
    const found = await lookupSession(c);
    if ("none" in found) {
      const status = found.reason === "no_role" ? 403 : found.reason === "absent" ? 200 : 401;
      return signInPage(c, found, c.req.query("signedOut") ? { notice: "Signed out." } : {}, status);
    }
    c.set("session", found.session);
    c.set("principal", found.session.principal);
    return overview(c);
  });

  app.post("/sign-in", async (c) => {
    if (!sameOrigin(c)) throw new GatewayError("FORBIDDEN", "cross-site sign-in refused");
    const failures = credentialFailures(c, "console");
    failures.refuseIfBlocked();
    const limiter = c.env.CLIENT_RATE_LIMITER;
    if (limiter) {
      const ip = c.req.header("cf-connecting-ip") ?? "local";
      const { success } = await limiter.limit({ key: `console-sign-in:${ip}` });
      if (!success) throw new GatewayError("RATE_LIMITED", "too many sign-in attempts; wait a minute");
    }
    const accessMode = accessEnabled(c.env);
    const form = await formOf(c);
    const result = await signInPrincipal(c, form, accessMode);
    if ("refused" in result) {
      createLogger({ requestId: c.get("requestId") }).warn("console sign-in refused");
      await failures.record();
      return signInPage(c, null, { error: result.refused }, 401);
    }
    const breakGlass = accessMode && result.principal.kind === "admin";
    await startSession(c, result.principal, result.generation, breakGlass ? BREAK_GLASS_TTL_SECONDS : SESSION_TTL_SECONDS);
    const db = c.get("services").db;
    await auditInsert(db, {
      actor: actorOf(result.principal),
      action: breakGlass ? "console.break_glass_sign_in" : "console.sign_in",
      targetType: "console_session",
      targetId: result.principal.id,
      requestId: c.get("requestId"),
    }).run();
    // The admin key is the break-glass way in once Access is configured: every use alerts the operators.
    if (breakGlass) c.get("services").defer(raiseBreakGlassAlert(c.env, db, c.get("requestId")));
    return c.redirect("/console", 303);
  });

  app.post("/sign-out", requireSession(), async (c) => {
    await protectedForm(c);
    const session = c.get("session")!;
    await endSession(c, session);
    await auditInsert(c.get("services").db, {
      actor: actorOf(session.principal),
      action: "console.sign_out",
      targetType: "console_session",
      targetId: session.principal.id,
      requestId: c.get("requestId"),
    }).run();
    // A person also leaves Access, so that the next visit asks Access again.
    if (session.via === "access") return c.redirect(accessLogoutUrl(c.env), 303);
    return c.redirect("/console?signedOut=1", 303);
  });

  /**
   * Development only: the local Access stand-in (src/sandbox/access) hands the browser here with a
   * signed assertion, as real Access does at `/cdn-cgi/access/authorized` on the application's own
   * domain (which Cloudflare's edge answers before any Worker). The assertion is verified like any
   * other before the CF_Authorization cookie is set; outside development this route does not exist.
   */
  app.get("/dev/access-callback", async (c) => {
    if (!isDevelopment(c.env) || !accessEnabled(c.env)) throw new GatewayError("NOT_FOUND", "no such page");
    const token = c.req.query("token") ?? "";
    const verified = await verifyAssertion(c.env, token);
    if (!verified.ok) throw new GatewayError("UNAUTHORIZED", "the stand-in's assertion did not verify");
    const ttl = Math.max(1, verified.identity.expiresAt - Math.floor(Date.now() / 1000));
    setCookie(c, ACCESS_COOKIE, token, { path: "/", httpOnly: true, secure: true, sameSite: "Lax", maxAge: ttl });
    return c.redirect("/console", 303);
  });
}
