import { describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { call } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
import { handleScheduled, SCHEDULE } from "../../src/cron";
import { claims } from "../../src/storage/schema/claims";
import { claimWebhooks } from "../../src/storage/schema/claim-webhooks";
import { clients } from "../../src/storage/schema/clients";
import { cronRuns } from "../../src/storage/schema/cron-runs";
import { alerts } from "../../src/storage/schema/alerts";
import { auditLog } from "../../src/storage/schema/audit-log";
import { backlogSamples } from "../../src/storage/schema/backlog-samples";
import { sampleBacklogs } from "../../src/console/ops/backlogs";
import { GATEWAY, browse, browseAs, csrfOf, db, seedCall, seedDeadLetter, seedFailedClaim, signInAdmin } from "./helpers";

const keyCookie = async (e: typeof env) => {
  const r = await browseAs(e, null, "POST", "/console/sign-in", { form: { key: env.ADMIN_API_KEY! }, origin: GATEWAY });
  return /^(amrit_console=[^;]+)/.exec(r.headers.get("set-cookie")!)![1];
};

describe("clients: list, create, rotate, revoke, change scopes and tenants; the secret shown once", () => {
  it("creates a client whose secret is on that one page only, and which works at once", async () => {
    const cookie = await signInAdmin();
    const csrf = csrfOf((await browse("GET", "/console/clients", { cookie })).text);
    const name = `console-made-${crypto.randomUUID().slice(0, 8)}`;
    const body = new URLSearchParams({ _csrf: csrf, name, tenants: "pb.jalandhar, pb.amritsar" });
    body.append("scopes", "claims:read");
    body.append("scopes", "claims:write");
    const made = await browse("POST", "/console/clients", {
      cookie,
      body: body.toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(made.status).toBe(200);
    expect(made.text).toContain("shown once");
    const secret = /class="secret">(cs_[A-Za-z0-9_-]+)</.exec(made.text)![1];
    const apiKey = /class="secret">(ak_[A-Za-z0-9_-]+)</.exec(made.text)![1];
    const row = (await db().select().from(clients).where(eq(clients.name, name)).get())!;
    expect(row.scopes).toEqual(["claims:read", "claims:write"]);
    expect(row.tenants).toEqual(["pb.amritsar", "pb.jalandhar"]);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect((await call("GET", "/v1/claims?limit=1", { apiKey })).status).toBe(200);
    // The list never shows it again.
    const list = await browse("GET", "/console/clients", { cookie });
    expect(list.text).toContain(row.id);
    expect(list.text).not.toContain(secret);
    expect(list.text).not.toContain(apiKey);
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "client.created"), eq(auditLog.targetId, row.id)))
      .all();
    expect(audit[0].actor).toBe("admin");
  });

  it("refuses a form without scopes or with a bad tenant id, creating nothing", async () => {
    const cookie = await signInAdmin();
    const csrf = csrfOf((await browse("GET", "/console/clients", { cookie })).text);
    const name = `console-bad-${crypto.randomUUID().slice(0, 8)}`;
    const noScopes = await browse("POST", "/console/clients", { cookie, form: { _csrf: csrf, name, tenants: "" } });
    expect(noScopes.status).toBe(400);
    expect(noScopes.text).toContain("tick at least one scope");
    const badTenant = await browse("POST", "/console/clients", { cookie, form: { _csrf: csrf, name, scopes: "ops", tenants: "not a/tenant!" } });
    expect(badTenant.status).toBe(400);
    const unknownScope = await browse("POST", "/console/clients", { cookie, form: { _csrf: csrf, name, scopes: "root" } });
    expect(unknownScope.status).toBe(400);
    expect(await db().select().from(clients).where(eq(clients.name, name)).all()).toHaveLength(0);
  });

  it("rotates (old key stops, new one works), changes scopes and tenants, and revokes", async () => {
    const created = await call("POST", "/v1/admin/clients", { admin: true, body: { name: "to manage", scopes: ["claims:read"] } });
    const { clientId, apiKey } = created.json;
    const cookie = await signInAdmin();
    const csrf = csrfOf((await browse("GET", "/console/clients", { cookie })).text);

    const rotated = await browse("POST", `/console/clients/${clientId}/rotate`, { cookie, form: { _csrf: csrf } });
    expect(rotated.status).toBe(200);
    const newKey = /class="secret">(ak_[A-Za-z0-9_-]+)</.exec(rotated.text)![1];
    expect((await call("GET", "/v1/claims?limit=1", { apiKey })).status).toBe(401);
    expect((await call("GET", "/v1/claims?limit=1", { apiKey: newKey })).status).toBe(200);

    const changed = await browse("POST", `/console/clients/${clientId}/update`, {
      cookie,
      form: { _csrf: csrf, scopes: "funds:read", tenants: "*" },
    });
    expect(changed.status).toBe(200);
    expect(changed.text).toContain("scopes funds:read; tenants *");
    expect((await call("GET", "/v1/claims?limit=1", { apiKey: newKey })).status).toBe(403);

    const unconfirmed = await browse("POST", `/console/clients/${clientId}/revoke`, { cookie, form: { _csrf: csrf } });
    expect(unconfirmed.status).toBe(400);
    const revoked = await browse("POST", `/console/clients/${clientId}/revoke`, { cookie, form: { _csrf: csrf, confirm: "yes" } });
    expect(revoked.status).toBe(200);
    expect((await call("GET", "/v1/funds/summary", { apiKey: newKey })).status).toBe(401);
    expect((await browse("POST", `/console/clients/${clientId}/rotate`, { cookie, form: { _csrf: csrf } })).status).toBe(404);
    expect((await browse("POST", "/console/clients/cl_nobody/update", { cookie, form: { _csrf: csrf, scopes: "ops" } })).status).toBe(404);
  });
});

describe("configuration health", () => {
  it("each area valid or not, by name only; token ages; the gateway's public iFIX key; the cron jobs' last runs", async () => {
    const ctx = createExecutionContext();
    await handleScheduled(createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const runs = await db().select().from(cronRuns).all();
    for (const job of Object.keys(SCHEDULE["*/15 * * * *"]))
      expect(
        runs.find((r) => r.job === job),
        job,
      ).toMatchObject({ outcome: "ok", errorKind: null });

    await env.TOKEN_CACHE.put("upstream-token:assam", JSON.stringify({ token: "tok-value-never-shown", expiresAt: Date.now() + 600_000 }));
    await seedCall({ portal: "assam", operation: "token", outcome: "ok", httpStatus: 200 });

    const broken = { ...env, UMANG_API_TOKEN: "", ASSAM_MAX_RPS: "lots-and-lots" } as typeof env;
    const cookie = await keyCookie(broken);
    const page = await browseAs(broken, null, "GET", "/console/configuration", { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/UMANG \/ NDHM<\/th><td class="bad">invalid<\/td><td>UMANG_API_TOKEN missing<\/td>/);
    expect(page.text).toMatch(/Assam portal<\/th><td class="bad">invalid<\/td><td>ASSAM_MAX_RPS malformed<\/td>/);
    expect(page.text).toMatch(/iFIX sending<\/th><td class="ok">valid<\/td>/);
    expect(page.text).toMatch(/claims webhook<\/th><td class="ok">not configured \(optional\)<\/td>/);
    // Never a value: not the malformed one, not a secret, not the cached token.
    for (const v of [
      "lots-and-lots",
      env.ASSAM_CLIENT_SECRET!,
      env.UMANG_CLIENT_SECRET!,
      env.ADMIN_API_KEY!,
      env.DATA_ENCRYPTION_KEY!,
      "tok-value-never-shown",
    ])
      expect(page.text).not.toContain(v);
    expect(page.text).toMatch(/<th scope="row">assam<\/th><td class="ok">yes<\/td><td>\d+ s \(fetched/);
    expect(page.text).toMatch(/kid [A-Za-z0-9_-]{43} · RSA 2048 bits/);
    expect(page.text).toContain("&quot;kty&quot;: &quot;RSA&quot;");
    expect(page.text).not.toMatch(/&quot;(d|p|q|dp|dq|qi)&quot;:/);
    expect(page.text).toMatch(
      /<th scope="row">claimsSweep<\/th><td><code>\*\/15 \* \* \* \*<\/code><\/td><td>[^<]+ago\)<\/td><td class="ok">ok<\/td>/,
    );
    expect(page.text).toContain('<th scope="row">monthlyCutoff</th><td><code>30 20 L * *</code></td>');
  });

  it("a job that fails is recorded as failed with its error's kind, and the others still run", async () => {
    const e = { ...env, ALERT_FAILURE_RATE: "not-a-rate" } as typeof env;
    const ctx = createExecutionContext();
    const err = await handleScheduled(createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }), e, ctx).catch((x) => x);
    await waitOnExecutionContext(ctx);
    expect(err).toBeInstanceOf(Error);
    expect(String(err.message)).toContain("1 cron job(s) failed");
    const runs = await db().select().from(cronRuns).all();
    expect(runs.find((r) => r.job === "alerts")).toMatchObject({ outcome: "failed", errorKind: "GatewayError" });
    expect(runs.find((r) => r.job === "claimsSweep")).toMatchObject({ outcome: "ok" });
    // A later success keeps the last failure's record straight.
    const ctx2 = createExecutionContext();
    await handleScheduled(createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }), env, ctx2);
    await waitOnExecutionContext(ctx2);
    expect((await db().select().from(cronRuns).where(eq(cronRuns.job, "alerts")).get())!).toMatchObject({ outcome: "ok", errorKind: null });
  });
});

describe("queues and backlogs", () => {
  it("claims by status and age, outbox depths, the oldest undelivered item per portal, dead letters by kind, and the 24-hour chart", async () => {
    const queued = await seedFailedClaim();
    const longAgo = "2001-01-01T00:00:00.000Z";
    await db().update(claims).set({ status: "QUEUED", failureCode: null, updatedAt: longAgo }).where(eq(claims.id, queued)).run();
    const hookClaim = await seedFailedClaim();
    await db()
      .insert(claimWebhooks)
      .values({
        id: crypto.randomUUID(),
        claimId: hookClaim,
        ownerId: "admin",
        claimStatus: "FAILED",
        payload: "{}",
        state: "PENDING",
        attempts: 2,
        nextAttemptAt: Date.now() + 60_000,
        createdAt: longAgo,
      })
      .run();
    const kind = `deliver`;
    await seedDeadLetter({ type: kind, claimId: hookClaim, dispatchId: "x" });
    const t0 = Date.now();
    await sampleBacklogs(db(), t0 - 3 * 3_600_000);
    await sampleBacklogs(db(), t0 - 3_600_000);
    await sampleBacklogs(db(), t0);

    const cookie = await signInAdmin();
    const page = await browse("GET", "/console/backlogs", { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain(`href="/console/claims/${queued}">claim waiting for delivery (QUEUED)`);
    expect(page.text).toContain(`href="/console/claims/${hookClaim}">claim status webhook not yet delivered`);
    expect(page.text).toMatch(/<th scope="row">QUEUED<\/th>(<td class="num">[^<]*<\/td>){4}<td class="num">[1-9]\d*<\/td>/);
    expect(page.text).toMatch(
      /<a href="\/console\/dead-letters\?kind=deliver&amp;state=all">deliver<\/a><\/td><td>amrit-claims-delivery<\/td><td class="num bad">[1-9]/,
    );
    expect(page.text).toMatch(/<svg[^>]*aria-labelledby="backlog-chart-title backlog-chart-desc"/);
    expect(page.text).toContain("<polyline");
    const samples = await db().select().from(backlogSamples).all();
    expect(samples.filter((x) => [t0 - 3 * 3_600_000, t0 - 3_600_000, t0].includes(Date.parse(x.at)))).toHaveLength(3);
  });
});

describe("alerts page", () => {
  it("shows the rules with their thresholds from configuration, and a test button that posts to the webhook", async () => {
    const hooked = {
      ...env,
      ALERT_WEBHOOK_URL: `${env.TEST_SANDBOX_URL}/assam/__sandbox/webhook`,
      ALERT_WEBHOOK_SECRET: "alert-test-secret",
      ALERT_FAILURE_RATE: "0.35",
    } as typeof env;
    const cookie = await keyCookie(hooked);
    const page = await browseAs(hooked, null, "GET", "/console/alerts", { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain("reach 35.0% of its calls");
    expect(page.text).toContain("signed with ALERT_WEBHOOK_SECRET");
    expect(page.text).toContain("break_glass_sign_in");
    const before = ((await sandbox("GET", "/assam/__sandbox/webhooks")).json.webhooks as { body: string }[]).filter((w) =>
      w.body.includes('"kind":"test"'),
    ).length;
    const sent = await browseAs(hooked, null, "POST", "/console/alerts/test", { cookie, form: { _csrf: csrfOf(page.text) } });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain("Test alert posted to the webhook (HTTP 204)");
    const after = ((await sandbox("GET", "/assam/__sandbox/webhooks")).json.webhooks as { body: string }[]).filter((w) =>
      w.body.includes('"kind":"test"'),
    ).length;
    expect(after).toBe(before + 1);
    expect(sent.text).toMatch(
      /<td>test<\/td><td>console<\/td><td class="num">–<\/td><td>test alert sent from the console by admin<\/td><td class="ok">sent \(204\)<\/td>/,
    );
    expect(
      (
        await db()
          .select()
          .from(alerts)
          .where(and(eq(alerts.kind, "test"), eq(alerts.delivery, "sent")))
          .all()
      ).length,
    ).toBeGreaterThanOrEqual(1);

    // Without a webhook, nothing is sent and the page says so.
    const plainCookie = await signInAdmin();
    const plain = await browse("GET", "/console/alerts", { cookie: plainCookie });
    const refused = await browse("POST", "/console/alerts/test", { cookie: plainCookie, form: { _csrf: csrfOf(plain.text) } });
    expect(refused.status).toBe(503);
    expect(refused.text).toContain("No alert webhook is configured");
    await sandbox("POST", "/assam/__sandbox/reset");
  });
});
