import { describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { SignJWT, generateKeyPair } from "jose";
import { createClient } from "../helpers/gateway";
import { auditLog } from "../../src/storage/schema/audit-log";
import { alerts } from "../../src/storage/schema/alerts";
import { consoleSessions } from "../../src/storage/schema/console-sessions";
import { roleFor } from "../../src/console/roles";
import { sha256Hex } from "../../src/domain/security/crypto";
import { ACCESS_AUD, GATEWAY, ROLES, accessEnv, assertionFor, browseAs, csrfOf, db, seedDeadLetter, seedFailedClaim } from "./helpers";

const A = accessEnv();
const team = `${env.TEST_SANDBOX_URL}/access`;
const auditRows = (action: string, actor: string) =>
  db()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, action), eq(auditLog.actor, actor)))
    .all();

describe("the console behind Cloudflare Access (the local stand-in signs the assertions)", () => {
  it("a verified assertion is a person: email and role on every page, email as the actor of every audit row", async () => {
    const token = await assertionFor("operator@amrit.test");
    const home = await browseAs(A, token, "GET", "/console");
    expect(home.status).toBe(200);
    expect(home.text).toContain("operator@amrit.test");
    expect(home.text).toMatch(/<span class="role"[^>]*>operator<\/span>/);
    expect(home.text).toContain("<svg");
    // No cookie of ours: the assertion is the session.
    expect(home.headers.get("set-cookie")).toBeNull();

    // The operator replays a dead letter: the audit rows name the person, not "admin" or a client.
    const claimId = await seedFailedClaim();
    const dl = await seedDeadLetter({ type: "deliver", claimId, dispatchId: "x" });
    const page = await browseAs(A, token, "GET", `/console/dead-letters/${encodeURIComponent(dl)}`);
    const done = await browseAs(A, token, "POST", `/console/dead-letters/${encodeURIComponent(dl)}/replay`, {
      form: { _csrf: csrfOf(page.text), confirm: "yes" },
    });
    expect(done.status).toBe(200);
    expect(done.text).toContain("Replayed: claim");
    const replay = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "dead_letter.replay"), eq(auditLog.targetId, dl)))
      .all();
    expect(replay.map((r) => r.actor)).toEqual(["operator@amrit.test"]);
    const claimAudit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "claim.replay"), eq(auditLog.targetId, claimId)))
      .all();
    expect(claimAudit.map((r) => r.actor)).toEqual(["operator@amrit.test"]);
    // Its first request started the session, once.
    const id = await sha256Hex(`console-access:${token}`);
    expect(await db().select().from(consoleSessions).where(eq(consoleSessions.id, id)).get()).toMatchObject({
      kind: "person",
      subject: "operator@amrit.test",
      endedAt: null,
    });
    expect((await auditRows("console.sign_in", "operator@amrit.test")).filter((r) => r.requestId !== null).length).toBeGreaterThanOrEqual(1);
  });

  it("takes the CF_Authorization cookie as well as the header", async () => {
    const token = await assertionFor("viewer@amrit.test");
    const res = await browseAs(A, token, "GET", "/console/audit", { viaCookie: true });
    expect(res.status).toBe(200);
    expect(res.text).toContain("viewer@amrit.test");
  });

  it("refuses assertions that do not verify: other audience, issuer or key, expired, not RS256, no email", async () => {
    const other = await generateKeyPair("RS256");
    const now = Math.floor(Date.now() / 1000);
    const forge = (
      alg: "RS256" | "HS256",
      key: CryptoKey | Uint8Array,
      claims: Record<string, unknown> = { email: "admin@amrit.test" },
      kid = "not-a-published-key",
    ) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg, kid })
        .setIssuer(team)
        .setAudience([ACCESS_AUD])
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(key);
    const bad: [string, string][] = [
      ["another application", await assertionFor("admin@amrit.test", { aud: "some-other-application" })],
      ["another issuer", await assertionFor("admin@amrit.test", { issuer: "https://evil.cloudflareaccess.com" })],
      ["expired", await assertionFor("admin@amrit.test", { iat: now - 7200, ttlSeconds: 600 })],
      ["signed with a key Access never published", await forge("RS256", other.privateKey)],
      ["HS256 with a guessable secret", await forge("HS256", new TextEncoder().encode("x".repeat(32)))],
      ["a service token (no email)", await serviceToken("svc-backup-job")],
      ["tampered payload", tamper(await assertionFor("viewer@amrit.test"), { email: "admin@amrit.test" })],
      ["garbage", "not.a.jwt"],
    ];
    for (const [why, token] of bad) {
      const home = await browseAs(A, token, "GET", "/console");
      expect(home.status, why).toBe(401);
      expect(home.text, why).toContain("could not be verified");
      expect((await browseAs(A, token, "GET", "/console/audit")).status, why).toBe(303);
    }
    // The control: the same stand-in's token for a person with a role passes.
    expect((await browseAs(A, await assertionFor("admin@amrit.test"), "GET", "/console")).status).toBe(200);
  });

  it("roles come from CONSOLE_ROLES: the exact email first, then *@domain from the most specific; no match → no access", async () => {
    expect(roleFor("Admin@AMRIT.test", ROLES)).toBe("admin");
    expect(roleFor("someone@district.example.org", ROLES)).toBe("viewer");
    expect(roleFor("lead@district.example.org", ROLES)).toBe("operator");
    expect(roleFor("someone@block.district.example.org", ROLES)).toBe("viewer");
    expect(roleFor("someone@example.org", ROLES)).toBeNull();
    expect(roleFor("viewer@amrit.test.evil.example", ROLES)).toBeNull();
    const lead = await browseAs(A, await assertionFor("lead@district.example.org"), "GET", "/console");
    expect(lead.text).toMatch(/<span class="role"[^>]*>operator<\/span>/);
    const stranger = await browseAs(A, await assertionFor("stranger@example.org"), "GET", "/console");
    expect(stranger.status).toBe(403);
    expect(stranger.text).toContain("gives your email no role");
    expect((await browseAs(A, await assertionFor("stranger@example.org"), "GET", "/console/audit")).status).toBe(303);
    // A role taken away applies at once, session or not.
    const token = await assertionFor("viewer@amrit.test");
    expect((await browseAs(A, token, "GET", "/console/audit")).status).toBe(200);
    const without = accessEnv({ CONSOLE_ROLES: JSON.stringify({ "operator@amrit.test": "operator" }) });
    expect((await browseAs(without, token, "GET", "/console/audit")).status).toBe(303);
  });

  it("a malformed Access configuration lets nobody in through Access and names the variable, never its value", async () => {
    const token = await assertionFor("admin@amrit.test");
    for (const [name, vars] of [
      ["CONSOLE_ROLES", { CONSOLE_ROLES: "{not json" }],
      ["CONSOLE_ROLES", { CONSOLE_ROLES: JSON.stringify({ "admin@amrit.test": "superuser" }) }],
      ["CF_ACCESS_AUD", { CF_ACCESS_AUD: undefined }],
      ["CF_ACCESS_TEAM_DOMAIN", { ENVIRONMENT: "production" }], // plain HTTP outside development
    ] as const) {
      const e = accessEnv(vars as Record<string, string | undefined>);
      const home = await browseAs(e, token, "GET", "/console");
      expect(home.status, name).toBe(401);
      expect(home.text, name).toContain("configuration is invalid");
      // The break-glass key still works, and the configuration page names what is wrong.
      const signIn = await browseAs(e, null, "POST", "/console/sign-in", { form: { key: env.ADMIN_API_KEY! }, origin: GATEWAY });
      expect(signIn.status, name).toBe(303);
      const cookie = /^(amrit_console=[^;]+)/.exec(signIn.headers.get("set-cookie")!)![1];
      const config = await browseAs(e, null, "GET", "/console/configuration", { cookie });
      expect(config.status, name).toBe(200);
      expect(config.text, name).toMatch(new RegExp(`Cloudflare Access \\(console\\)</th><td class="bad">invalid</td><td>[^<]*${name}`));
      if (name === "CONSOLE_ROLES") expect(config.text).not.toContain("superuser");
    }
  });

  it("keys that cannot be fetched: nobody is let in, and the page says why", async () => {
    const e = accessEnv({ CF_ACCESS_TEAM_DOMAIN: `${env.TEST_SANDBOX_URL}/no-such-team` });
    const token = await assertionFor("admin@amrit.test", { issuer: `${env.TEST_SANDBOX_URL}/no-such-team` });
    const home = await browseAs(e, token, "GET", "/console");
    expect(home.status).toBe(401);
    expect(home.text).toContain("keys cannot be fetched");
  });

  it("the admin key is only the break-glass sign-in: every use raises an alert and is audited; operator clients are refused", async () => {
    const before = await db().select().from(alerts).where(eq(alerts.kind, "break_glass_sign_in")).all();
    const page = await browseAs(A, null, "GET", "/console");
    expect(page.text).toContain("Sign in with Cloudflare Access");
    expect(page.text).toContain(`${team}/cdn-cgi/access/login/gateway.test?kid=${ACCESS_AUD}`);
    expect(page.text).toContain("Break-glass");
    const signIn = await browseAs(A, null, "POST", "/console/sign-in", { form: { key: env.ADMIN_API_KEY! }, origin: GATEWAY });
    expect(signIn.status).toBe(303);
    // An emergency session: one hour, not eight.
    expect(signIn.headers.get("set-cookie")).toMatch(/Max-Age=3600;/);
    const after = await db().select().from(alerts).where(eq(alerts.kind, "break_glass_sign_in")).all();
    expect(after.length).toBe(before.length + 1);
    expect(after.at(-1)).toMatchObject({ subject: "console", delivery: "not_configured" });
    expect((await auditRows("console.break_glass_sign_in", "admin")).length).toBeGreaterThanOrEqual(1);

    const ops = await createClient(["ops"], "ops under access");
    for (const form of [{ key: ops.apiKey }, { clientId: ops.clientId, clientSecret: ops.clientSecret }] as Record<string, string>[]) {
      const r = await browseAs(A, null, "POST", "/console/sign-in", { form, origin: GATEWAY });
      expect(r.status).toBe(401);
      expect(r.headers.get("set-cookie")).toBeNull();
    }
  });

  it("signing out ends the person's session on the server: the same assertion is refused after, a new sign-in works", async () => {
    const token = await assertionFor("admin@amrit.test");
    const page = await browseAs(A, token, "GET", "/console/audit");
    expect(page.status).toBe(200);
    const out = await browseAs(A, token, "POST", "/console/sign-out", { form: { _csrf: csrfOf(page.text) } });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe(`${team}/cdn-cgi/access/logout`);
    // Browsers check a form's redirect against form-action: the console's CSP allows Access's origin for it.
    expect(out.headers.get("content-security-policy")).toContain(`form-action 'self' ${new URL(team).origin};`);
    // Access would still hand the same token along until it expires: the console no longer takes it.
    const again = await browseAs(A, token, "GET", "/console");
    expect(again.status).toBe(401);
    expect(again.text).toContain("You signed out");
    expect((await browseAs(A, token, "GET", "/console/audit")).status).toBe(303);
    expect((await browseAs(A, token, "POST", "/console/alerts/test", { form: { _csrf: csrfOf(page.text) } })).status).toBe(401);
    expect((await auditRows("console.sign_out", "admin@amrit.test")).length).toBeGreaterThanOrEqual(1);
    // Signing in through Access again gives a new token: a new session.
    expect(
      (await browseAs(A, await assertionFor("admin@amrit.test", { iat: Math.floor(Date.now() / 1000) + 1 }), "GET", "/console/audit")).status,
    ).toBe(200);
  });

  it("the stand-in's sign-in page hands a verified token to the development callback, which sets CF_Authorization", async () => {
    const login = await fetch(`${team}/cdn-cgi/access/login/gateway.test?kid=${ACCESS_AUD}&redirect_url=${encodeURIComponent(`${GATEWAY}/console`)}`);
    expect(login.status).toBe(200);
    const form = await login.text();
    expect(form).toContain('name="email"');
    expect(form).toContain(`action="${team}/cdn-cgi/access/login"`);
    const signed = await fetch(`${team}/cdn-cgi/access/login`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email: "viewer@amrit.test", kid: ACCESS_AUD, redirect_url: `${GATEWAY}/console` }),
      redirect: "manual",
    });
    expect(signed.status).toBe(303);
    const callback = new URL(signed.headers.get("location")!);
    expect(callback.origin + callback.pathname).toBe(`${GATEWAY}/console/dev/access-callback`);
    const set = await browseAs(A, null, "GET", `${callback.pathname}${callback.search}`);
    expect(set.status).toBe(303);
    expect(set.headers.get("set-cookie")).toMatch(/^CF_Authorization=[^;]+;.*HttpOnly/i);
    const cookie = /^(CF_Authorization=[^;]+)/.exec(set.headers.get("set-cookie")!)![1];
    expect((await browseAs(A, null, "GET", "/console/audit", { cookie })).text).toContain("viewer@amrit.test");
    // A token that does not verify sets nothing; outside development the route does not exist.
    expect((await browseAs(A, null, "GET", "/console/dev/access-callback?token=forged.token.here")).status).toBe(401);
    const prod = accessEnv({ ENVIRONMENT: "production", CF_ACCESS_TEAM_DOMAIN: "https://amrit.cloudflareaccess.com" });
    expect((await browseAs(prod, null, "GET", `${callback.pathname}${callback.search}`)).status).toBe(404);
    expect((await browseAs({ ...env } as typeof env, null, "GET", `${callback.pathname}${callback.search}`)).status).toBe(404);
  });
});

/** Replaces payload claims without re-signing (the signature then covers other bytes). */
function tamper(token: string, claims: Record<string, unknown>) {
  const [h, p, s] = token.split(".");
  const payload = { ...JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/"))), ...claims };
  const b64 = btoa(JSON.stringify(payload)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${h}.${b64}.${s}`;
}

/** An Access service token (a machine, not a person: `common_name`, no email), signed by the stand-in. */
async function serviceToken(commonName: string): Promise<string> {
  const res = await fetch(`${env.TEST_SANDBOX_URL}/access/__sandbox/assertion`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ aud: ACCESS_AUD, commonName }),
  });
  return ((await res.json()) as { token: string }).token;
}
