import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { SignJWT } from "jose";
import { app } from "../../src/index";
import { signingKeys } from "../../src/http/middleware/auth";
import { call, createClient } from "../helpers/gateway";
import { createRouter } from "../../src/http/router";
import { OPENAPI_INFO } from "../../src/http/app";
import { registerOpsRoutes } from "../../src/http/routes/ops";
import { and, eq } from "drizzle-orm";
import { sha256Hex } from "../../src/domain/security/crypto";
import { consoleSessions } from "../../src/storage/schema/console-sessions";
import { auditLog } from "../../src/storage/schema/audit-log";
import { pruneSessions } from "../../src/console/session";
import { GATEWAY, browse, csrfOf, db, sessionIdOf, signIn, signInAdmin } from "./helpers";

describe("console sign-in and sessions", () => {
  it("shows the sign-in form without a session, and sends other pages there", async () => {
    const res = await browse("GET", "/console");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(res.text).toContain('action="/console/sign-in"');
    expect(res.text).not.toContain("<svg");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    for (const path of ["/console/transactions", "/console/dead-letters", "/console/audit", "/console/reconciliation.csv?period=2026-01"]) {
      const r = await browse("GET", path);
      expect(r.status, path).toBe(303);
      expect(r.headers.get("location")).toBe("/console");
    }
  });

  it("refuses a bad key and sets no cookie", async () => {
    const { res, setCookie } = await signIn({ key: "not-the-admin-key-at-all" });
    expect(res.status).toBe(401);
    expect(setCookie).toBeNull();
    expect(res.text).toContain("Unknown or revoked key");
    const empty = await signIn({});
    expect(empty.res.status).toBe(401);
    expect(empty.setCookie).toBeNull();
  });

  it("signs the admin in with an HttpOnly, Secure, SameSite=Strict cookie that does not hold the key", async () => {
    const { res, cookie, setCookie } = await signIn({ key: env.ADMIN_API_KEY! });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console");
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/Secure/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\/console/);
    expect(setCookie).not.toContain(env.ADMIN_API_KEY!);
    expect(setCookie).not.toContain(encodeURIComponent(env.ADMIN_API_KEY!));
    const overview = await browse("GET", "/console", { cookie: cookie! });
    expect(overview.status).toBe(200);
    expect(overview.text).toContain("<svg");
    expect(overview.text).toContain("Upstream health");
    expect(overview.text).toContain("admin key");
    // The session is no caller token: the JSON API refuses it.
    const jwt = cookie!.split("=")[1];
    expect((await call("GET", "/v1/admin/dead-letters", { token: jwt })).status).toBe(401);
  });

  it("a tampered or foreign cookie is no session, and an old-style signed session token is none either", async () => {
    const cookie = await signInAdmin();
    const [name, value] = cookie.split("=");
    const flipped = `${value.slice(0, -1)}${value.endsWith("A") ? "B" : "A"}`;
    expect((await browse("GET", "/console/audit", { cookie: `${name}=${flipped}` })).status).toBe(303);
    expect((await browse("GET", "/console/audit", { cookie: `${name}=garbage` })).status).toBe(303);
    // A session token signed with the gateway's own key, as sessions used to be: no row, no session.
    const [key] = signingKeys(env);
    const forged = await new SignJWT({ kind: "admin", csrf: "x".repeat(32) })
      .setProtectedHeader({ alg: "HS256", kid: key.kid, typ: "JWT" })
      .setSubject("admin")
      .setIssuer("amrit-edge-gateway")
      .setAudience("amrit-edge-gateway/console")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(key.secret);
    expect((await browse("GET", "/console/audit", { cookie: `${name}=${forged}` })).status).toBe(303);
  });

  it("admits an operator client by API key and by client id + secret; refuses a client without ops", async () => {
    const ops = await createClient(["ops"], "ops operator");
    const byKey = await signIn({ key: ops.apiKey });
    expect(byKey.res.status).toBe(303);
    expect(byKey.setCookie).not.toContain(ops.apiKey);
    const page = await browse("GET", "/console/audit", { cookie: byKey.cookie! });
    expect(page.status).toBe(200);
    expect(page.text).toContain(ops.clientId);

    const bySecret = await signIn({ clientId: ops.clientId, clientSecret: ops.clientSecret });
    expect(bySecret.res.status).toBe(303);
    expect((await browse("GET", "/console", { cookie: bySecret.cookie! })).text).toContain("<svg");

    const wrongSecret = await signIn({ clientId: ops.clientId, clientSecret: "wrong" });
    expect(wrongSecret.res.status).toBe(401);
    expect(wrongSecret.setCookie).toBeNull();

    const plain = await createClient(["claims:read", "claims:write"], "not an operator");
    for (const form of [{ key: plain.apiKey }, { clientId: plain.clientId, clientSecret: plain.clientSecret }] as Record<string, string>[]) {
      const r = await signIn(form);
      expect(r.res.status).toBe(401);
      expect(r.setCookie).toBeNull();
      expect(r.res.text).toContain("no ops scope");
    }
  });

  it("refuses a cross-site sign-in", async () => {
    const res = await browse("POST", "/console/sign-in", { form: { key: env.ADMIN_API_KEY! }, origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("a sign-in form that cannot be read is a 400, not a server error", async () => {
    for (const contentType of ["multipart/form-data", "multipart/form-data; boundary=x"]) {
      const res = await browse("POST", "/console/sign-in", { headers: { "Content-Type": contentType }, body: "not a multipart body" });
      expect(res.status, contentType).toBe(400);
      expect(res.text).toContain("could not be read");
    }
  });

  it("ends an operator client's session when it is revoked or rotated", async () => {
    const a = await createClient(["ops"], "ops a");
    const sa = await signIn({ key: a.apiKey });
    expect((await browse("GET", "/console/transactions", { cookie: sa.cookie! })).status).toBe(200);
    expect((await call("DELETE", `/v1/admin/clients/${a.clientId}`, { admin: true })).status).toBe(200);
    const after = await browse("GET", "/console/transactions", { cookie: sa.cookie! });
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/console");
    expect((await browse("GET", "/console", { cookie: sa.cookie! })).text).toContain('action="/console/sign-in"');

    const b = await createClient(["ops"], "ops b");
    const sb = await signIn({ clientId: b.clientId, clientSecret: b.clientSecret });
    expect((await browse("GET", "/console/audit", { cookie: sb.cookie! })).status).toBe(200);
    expect((await call("POST", `/v1/admin/clients/${b.clientId}/rotate`, { admin: true })).status).toBe(200);
    expect((await browse("GET", "/console/audit", { cookie: sb.cookie! })).status).toBe(303);
  });

  it("checks the CSRF token on every POST: missing or wrong → 403, right → done", async () => {
    const cookie = await signInAdmin();
    const page = await browse("GET", "/console/dead-letters", { cookie });
    const csrf = csrfOf(page.text);
    const missing = await browse("POST", "/console/sign-out", { cookie, form: {} });
    expect(missing.status).toBe(403);
    const wrong = await browse("POST", "/console/sign-out", { cookie, form: { _csrf: "x".repeat(csrf.length) } });
    expect(wrong.status).toBe(403);
    const replay = await browse("POST", "/console/dead-letters/replay", { cookie, form: { _csrf: "nope", confirm: "yes" } });
    expect(replay.status).toBe(403);
    // Another session's token is wrong too.
    const other = csrfOf((await browse("GET", "/console/audit", { cookie: await signInAdmin() })).text);
    expect(other).not.toBe(csrf);
    expect((await browse("POST", "/console/sign-out", { cookie, form: { _csrf: other } })).status).toBe(403);

    const out = await browse("POST", "/console/sign-out", { cookie, form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/amrit_console=;|Max-Age=0/);
  });

  it("an admin session ends when ADMIN_API_KEY changes, and an expired session is no session", async () => {
    const cookie = await signInAdmin();
    const get = (e: typeof env) => app.fetch(new Request(`${GATEWAY}/console/audit`, { headers: { Cookie: cookie } }), e, createExecutionContext());
    expect((await get(env)).status).toBe(200);
    expect((await get({ ...env, ADMIN_API_KEY: "a-different-admin-key-after-rotation" } as typeof env)).status).toBe(303);
    expect((await get(env)).status).toBe(200);

    const id = await sessionIdOf(cookie);
    await db()
      .update(consoleSessions)
      .set({ expiresAt: new Date(Date.now() - 1000).toISOString() })
      .where(eq(consoleSessions.id, id))
      .run();
    expect((await browse("GET", "/console/audit", { cookie })).status).toBe(303);
  });

  // Issue 15 item 16: the session used to be a readable JWT carrying a SHA-256 fingerprint of ADMIN_API_KEY.
  it("the session cookie is an opaque random token: no payload, nothing derived from the admin key in it or in its row", async () => {
    const cookie = await signInAdmin();
    const value = cookie.split("=")[1];
    expect(value).toMatch(/^[A-Za-z0-9_-]{40,64}$/);
    expect(value).not.toContain(".");
    const row = (await db()
      .select()
      .from(consoleSessions)
      .where(eq(consoleSessions.id, await sessionIdOf(cookie)))
      .get())!;
    expect(row).toMatchObject({ kind: "admin", subject: "admin", endedAt: null });
    const key = env.ADMIN_API_KEY!;
    const guessable = [
      key,
      await sha256Hex(key),
      await sha256Hex(`console-session:${key}`),
      (await sha256Hex(`console-session:${key}`)).slice(0, 32),
    ];
    for (const g of guessable) {
      expect(JSON.stringify(row)).not.toContain(g);
      expect(value).not.toContain(g);
    }
    // What the row keeps is keyed with JWT_SIGNING_KEY: useless without it.
    expect(row.keyCheck).toBeTypeOf("string");
  });

  it("signing out ends the session on the server: a copy of the cookie no longer works", async () => {
    const cookie = await signInAdmin();
    const csrf = csrfOf((await browse("GET", "/console/audit", { cookie })).text);
    const out = await browse("POST", "/console/sign-out", { cookie, form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    // The browser dropped its cookie; a copy taken before (another tab, a stolen header) is refused.
    expect((await browse("GET", "/console/audit", { cookie })).status).toBe(303);
    expect((await browse("POST", "/console/dead-letters/replay", { cookie, form: { _csrf: csrf, confirm: "yes" } })).status).toBe(401);
    const row = (await db()
      .select()
      .from(consoleSessions)
      .where(eq(consoleSessions.id, await sessionIdOf(cookie)))
      .get())!;
    expect(row.endedAt).not.toBeNull();
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "console.sign_out"), eq(auditLog.actor, "admin")))
      .all();
    expect(audit.length).toBeGreaterThanOrEqual(1);
  });

  it("expired session rows are pruned by the quarter-hourly job, a day after they expire", async () => {
    const cookie = await signInAdmin();
    const id = await sessionIdOf(cookie);
    const longAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    await db().update(consoleSessions).set({ expiresAt: longAgo }).where(eq(consoleSessions.id, id)).run();
    const fresh = await signInAdmin();
    await pruneSessions(db());
    expect(await db().select().from(consoleSessions).where(eq(consoleSessions.id, id)).get()).toBeUndefined();
    expect(
      await db()
        .select()
        .from(consoleSessions)
        .where(eq(consoleSessions.id, await sessionIdOf(fresh)))
        .get(),
    ).toBeDefined();
  });

  it("a POST without a session is refused", async () => {
    const res = await browse("POST", "/console/dead-letters/replay", { form: { confirm: "yes" } });
    expect(res.status).toBe(401);
  });

  it("guards the operators' JSON routes: admin key or ops scope", async () => {
    expect((await call("GET", "/v1/admin/dead-letters")).status).toBe(401);
    const plain = await createClient(["claims:read"], "plain");
    expect((await call("GET", "/v1/admin/dead-letters", { token: plain.token })).status).toBe(403);
    expect((await call("POST", "/v1/admin/dead-letters/replay", { apiKey: plain.apiKey, body: { confirm: true } })).status).toBe(403);
    const ops = await createClient(["ops"], "ops json");
    expect((await call("GET", "/v1/admin/dead-letters", { token: ops.token })).status).toBe(200);
    expect((await call("GET", "/v1/admin/upstream-calls", { apiKey: ops.apiKey })).status).toBe(200);
    expect((await call("GET", "/v1/admin/alerts", { admin: true })).status).toBe(200);
    // The operators' routes document themselves (built alone, so another area's document cannot hide them).
    const router = createRouter();
    registerOpsRoutes(router);
    const doc = { json: router.getOpenAPI31Document(OPENAPI_INFO) as any };
    for (const p of [
      "/v1/admin/dead-letters",
      "/v1/admin/dead-letters/{id}",
      "/v1/admin/dead-letters/{id}/replay",
      "/v1/admin/dead-letters/replay",
      "/v1/admin/upstream-calls",
      "/v1/admin/alerts",
    ]) {
      expect(doc.json.paths[p], p).toBeDefined();
    }
    // …and the gateway's published document lists them.
    const published = await call("GET", "/openapi.json");
    expect(published.status).toBe(200);
    expect(published.json.paths["/v1/admin/dead-letters/{id}/replay"].post).toBeDefined();
    expect(GATEWAY).toBe("http://gateway.test");
  });
});
