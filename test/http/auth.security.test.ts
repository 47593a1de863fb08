import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { call, createClient, expectError, tokenFor } from "../helpers/gateway";

describe("callers: the auth triad", () => {
  it("answers 401 without credentials", async () => {
    expectError(await call("GET", "/v1/admin/audit"), 401, "UNAUTHORIZED");
    expectError(await call("GET", "/v1/admin/clients"), 401, "UNAUTHORIZED");
  });

  it("answers 401 for a malformed, foreign-signed or expired token", async () => {
    expectError(await call("GET", "/v1/admin/audit", { token: "not-a-jwt" }), 401, "UNAUTHORIZED");
    const client = await createClient(["ops"]);
    const forged = await new SignJWT({ scope: "ops", gen: 1 })
      .setProtectedHeader({ alg: "HS256", kid: env.JWT_SIGNING_KEY!.split(":")[0] })
      .setSubject(client.clientId)
      .setIssuer("amrit-edge-gateway")
      .setAudience("amrit-edge-gateway/v1")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("some-other-key-of-at-least-32-bytes!!"));
    expectError(await call("GET", "/v1/admin/audit", { token: forged }), 401, "UNAUTHORIZED");

    const [kid, secret] = env.JWT_SIGNING_KEY!.split(":");
    const raw = Uint8Array.from(atob(secret.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (secret.length % 4)) % 4)), (ch) =>
      ch.charCodeAt(0),
    );
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ scope: "ops", gen: 1 })
      .setProtectedHeader({ alg: "HS256", kid })
      .setSubject(client.clientId)
      .setIssuer("amrit-edge-gateway")
      .setAudience("amrit-edge-gateway/v1")
      .setIssuedAt(now - 3600)
      .setExpirationTime(now - 60)
      .sign(raw);
    expectError(await call("GET", "/v1/admin/audit", { token: expired }), 401, "UNAUTHORIZED");
    // The same key with a live expiry is accepted: the failure above is the expiry, not the key.
    const live = await new SignJWT({ scope: "ops", gen: 1 })
      .setProtectedHeader({ alg: "HS256", kid })
      .setSubject(client.clientId)
      .setIssuer("amrit-edge-gateway")
      .setAudience("amrit-edge-gateway/v1")
      .setExpirationTime(now + 60)
      .sign(raw);
    expect((await call("GET", "/v1/admin/audit", { token: live })).status).toBe(200);
  });

  it("answers 403 when the token lacks the route's scope", async () => {
    const client = await createClient(["claims:read"]);
    expectError(await call("GET", "/v1/admin/audit", { token: client.token }), 403, "FORBIDDEN");
    expectError(await call("GET", "/v1/admin/audit", { apiKey: client.apiKey }), 403, "FORBIDDEN");
    // Creating clients needs the admin key itself, whatever scopes a client holds.
    const ops = await createClient(["ops"]);
    expectError(await call("POST", "/v1/admin/clients", { token: ops.token, body: { name: "x", scopes: ["ops"] } }), 403, "FORBIDDEN");
  });

  it("accepts a client's API key as well as its token", async () => {
    const ops = await createClient(["ops"]);
    expect((await call("GET", "/v1/admin/audit", { apiKey: ops.apiKey })).status).toBe(200);
    expect((await call("GET", "/v1/admin/audit", { token: ops.token })).status).toBe(200);
    expectError(await call("GET", "/v1/admin/audit", { apiKey: "ak_wrong" }), 401, "UNAUTHORIZED");
  });

  it("stops a revoked client's token and key at once", async () => {
    const ops = await createClient(["ops"]);
    expect((await call("GET", "/v1/admin/audit", { token: ops.token })).status).toBe(200);
    const revoked = await call("DELETE", `/v1/admin/clients/${ops.clientId}`, { admin: true });
    expect(revoked.status).toBe(200);
    expect(revoked.json.revokedAt).toBeTruthy();
    expectError(await call("GET", "/v1/admin/audit", { token: ops.token }), 401, "UNAUTHORIZED");
    expectError(await call("GET", "/v1/admin/audit", { apiKey: ops.apiKey }), 401, "UNAUTHORIZED");
    const again = await call("POST", "/v1/auth/token", {
      body: { grant_type: "client_credentials", client_id: ops.clientId, client_secret: ops.clientSecret },
    });
    expect(again.status).toBe(401);
    expect(again.json).toEqual({ error: "invalid_client", error_description: expect.any(String) });
  });

  it("rotation issues new credentials and ends the old ones", async () => {
    const ops = await createClient(["ops"]);
    const rotated = await call("POST", `/v1/admin/clients/${ops.clientId}/rotate`, { admin: true });
    expect(rotated.status).toBe(200);
    expect(rotated.json.clientSecret).not.toBe(ops.clientSecret);
    expect(rotated.json.apiKey).not.toBe(ops.apiKey);
    expectError(await call("GET", "/v1/admin/audit", { token: ops.token }), 401, "UNAUTHORIZED");
    expectError(await call("GET", "/v1/admin/audit", { apiKey: ops.apiKey }), 401, "UNAUTHORIZED");
    const fresh = await tokenFor(ops.clientId, rotated.json.clientSecret);
    expect((await call("GET", "/v1/admin/audit", { token: fresh })).status).toBe(200);
    expect((await call("GET", "/v1/admin/audit", { apiKey: rotated.json.apiKey })).status).toBe(200);
  });

  it("404s rotate and revoke of an unknown client", async () => {
    expectError(await call("POST", "/v1/admin/clients/cl_nope/rotate", { admin: true }), 404, "NOT_FOUND");
    expectError(await call("DELETE", "/v1/admin/clients/cl_nope", { admin: true }), 404, "NOT_FOUND");
  });

  it("stores secrets and keys only as hashes", async () => {
    const c = await createClient(["claims:read"]);
    const row = await env.DB.prepare("SELECT * FROM clients WHERE id = ?").bind(c.clientId).first<Record<string, string>>();
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(c.clientSecret);
    expect(stored).not.toContain(c.apiKey);
  });

  it("audits client creation, rotation and revocation without secrets", async () => {
    const c = await createClient(["claims:read"], "audited");
    await call("POST", `/v1/admin/clients/${c.clientId}/rotate`, { admin: true });
    await call("DELETE", `/v1/admin/clients/${c.clientId}`, { admin: true });
    const audit = await call("GET", `/v1/admin/audit?targetId=${c.clientId}`, { admin: true });
    expect(audit.status).toBe(200);
    expect(audit.json.items.map((i: any) => i.action)).toEqual(["client.revoked", "client.rotated", "client.created"]);
    expect(audit.json.items[0].actor).toBe("admin");
    expect(audit.json.items[0].before.revokedAt).toBeNull();
    expect(audit.json.items[0].after.revokedAt).toBeTruthy();
    expect(JSON.stringify(audit.json)).not.toContain(c.clientSecret);
  });

  it("pages the audit log with a cursor", async () => {
    for (let i = 0; i < 3; i++) await createClient(["claims:read"], `page-${i}`);
    const first = await call("GET", "/v1/admin/audit?action=client.created&limit=2", { admin: true });
    expect(first.json.items).toHaveLength(2);
    expect(first.json.nextCursor).toEqual(expect.any(String));
    const second = await call("GET", `/v1/admin/audit?action=client.created&limit=2&cursor=${first.json.nextCursor}`, { admin: true });
    expect(second.json.items.length).toBeGreaterThan(0);
    expect(second.json.items[0].id).toBeLessThan(first.json.items[1].id);
    expectError(await call("GET", "/v1/admin/audit?cursor=garbage!", { admin: true }), 400, "VALIDATION_FAILED");
  });
});

describe("POST /v1/auth/token", () => {
  it("issues a Bearer token for form and JSON bodies", async () => {
    const c = await createClient(["claims:read"]);
    const form = await call("POST", "/v1/auth/token", {
      rawBody: `grant_type=client_credentials&client_id=${c.clientId}&client_secret=${encodeURIComponent(c.clientSecret)}`,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(200);
    expect(form.json).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 900 });
    expect(form.headers.get("cache-control")).toBe("no-store");
    const header = JSON.parse(atob(form.json.access_token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/")));
    expect(header.kid).toBe(env.JWT_SIGNING_KEY!.split(":")[0]);
    const json = await call("POST", "/v1/auth/token", {
      body: { grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret },
    });
    expect(json.status).toBe(200);
  });

  it("answers RFC 6749 errors", async () => {
    const c = await createClient(["claims:read"]);
    const bad = await call("POST", "/v1/auth/token", { body: { grant_type: "client_credentials", client_id: c.clientId, client_secret: "wrong" } });
    expect(bad.status).toBe(401);
    expect(bad.json.error).toBe("invalid_client");
    const unknown = await call("POST", "/v1/auth/token", { body: { grant_type: "client_credentials", client_id: "cl_nobody", client_secret: "x" } });
    expect(unknown.status).toBe(401);
    expect(unknown.json.error).toBe("invalid_client");
    const grant = await call("POST", "/v1/auth/token", { body: { grant_type: "password", client_id: c.clientId, client_secret: c.clientSecret } });
    expect(grant.status).toBe(400);
    expect(grant.json.error).toBe("unsupported_grant_type");
    const missing = await call("POST", "/v1/auth/token", { body: { grant_type: "client_credentials" } });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toBe("invalid_request");
    const malformed = await call("POST", "/v1/auth/token", { rawBody: "{not json", headers: { "Content-Type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error).toBe("invalid_request");
    const type = await call("POST", "/v1/auth/token", { rawBody: "x", headers: { "Content-Type": "text/plain" } });
    expect(type.status).toBe(415);
    expect(type.json.error).toBe("invalid_request");
  });
});
