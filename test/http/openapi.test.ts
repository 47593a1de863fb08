import { describe, expect, it, vi } from "vitest";
import { env, exports } from "cloudflare:workers";
import createFetchClient from "openapi-fetch";
import type { paths } from "./generated/gateway-api";
import { app } from "../../src/index";
import { openApiDocument, CLAIM_WEBHOOK_PAYLOAD_SCHEMA, deriveOperationId } from "../../src/http/openapi";
import { webhookPayload } from "../../src/domain/claims/ledger";
import { call, GATEWAY } from "../helpers/gateway";
import { ashaId } from "../claims/helpers";

const doc = async () => (await call("GET", "/openapi.json")).json;
const operations = (d: any) =>
  Object.entries(d.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, op })),
  );

describe("GET /openapi.json is tool-grade (issue 12)", () => {
  it("gives every operation a unique operationId, derived where a route names none", async () => {
    const ops = operations(await doc());
    const ids = ops.map((o) => o.op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[A-Za-z][A-Za-z0-9]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(deriveOperationId("post", "/v1/claims/{claimId}/refresh")).toBe("postClaimsByClaimIdRefresh");
    expect(ops.find((o) => o.method === "get" && o.path === "/v1/health/states")?.op.operationId).toBeTruthy();
  });

  it("declares OAuth2 client credentials with every scope, and per operation the scopes requireAuth enforces", async () => {
    const d = await doc();
    const flow = d.components.securitySchemes.oauth2.flows.clientCredentials;
    expect(flow.tokenUrl).toBe("/v1/auth/token");
    expect(Object.keys(flow.scopes)).toEqual(
      expect.arrayContaining(["claims:write", "claims:read", "health", "health:bridge", "fiscal:disburse", "ops"]),
    );
    const sec = (method: string, path: string) => d.paths[path][method].security;
    expect(sec("post", "/v1/claims")).toEqual([{ oauth2: ["claims:write"] }, { apiKey: [] }, { adminKey: [] }]);
    expect(sec("get", "/v1/admin/audit")).toEqual([{ oauth2: ["ops"] }, { apiKey: [] }, { adminKey: [] }]);
    expect(sec("post", "/v1/admin/clients")).toEqual([{ adminKey: [] }]);
    expect(sec("post", "/v1/auth/token")).toEqual([]);
    // Every scope an operation names is a declared scope; every /v1 route but the token endpoint needs credentials.
    for (const { method, path, op } of operations(d)) {
      for (const req of op.security) for (const s of req.oauth2 ?? []) expect(flow.scopes, `${method} ${path}`).toHaveProperty([s]);
      if (path.startsWith("/v1/") && path !== "/v1/auth/token") expect(op.security.length, `${method} ${path}`).toBeGreaterThan(0);
    }
  });

  it("documents X-Request-Id on every response and Retry-After on 429", async () => {
    const d = await doc();
    for (const { method, path, op } of operations(d)) {
      for (const [status, r] of Object.entries<any>(op.responses)) {
        expect(r.headers?.["X-Request-Id"], `${method} ${path} ${status}`).toEqual({ $ref: "#/components/headers/X-Request-Id" });
        if (status === "429") expect(r.headers["Retry-After"]).toEqual({ $ref: "#/components/headers/Retry-After" });
      }
    }
    const res = await call("GET", "/healthz");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("carries examples on the main request bodies", async () => {
    const d = await doc();
    for (const [method, path] of [
      ["post", "/v1/claims"],
      ["post", "/v1/payment-instructions"],
      ["post", "/v1/funds/allotments"],
      ["put", "/v1/admin/catalogue"],
      ["post", "/v1/admin/clients"],
    ]) {
      const media = d.paths[path][method].requestBody.content["application/json"];
      expect(Object.keys(media.examples ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
    }
  });

  it("describes the claim webhook with the Standard Webhooks headers and the payload the ledger builds", async () => {
    const d = await doc();
    const hook = d.webhooks.claimStatusChanged.post;
    expect(hook.parameters.map((p: any) => p.name)).toEqual(["webhook-id", "webhook-timestamp", "webhook-signature"]);
    expect(hook.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/ClaimStatusChanged" });
    const row = {
      id: crypto.randomUUID(),
      ashaId: "AS-ASHA-000001",
      period: "2026-01",
      status: "PENDING",
      receipt: null,
      errors: [],
      attempts: 1,
      totalPaise: 70000,
      catalogueVersion: "2026-01",
    };
    const payload = JSON.parse(webhookPayload("evt-1", row as never, "QUEUED", { status: "PENDING" } as never, new Date().toISOString()));
    expect(Object.keys(payload).sort()).toEqual(Object.keys(CLAIM_WEBHOOK_PAYLOAD_SCHEMA.properties).sort());
    expect(Object.keys(payload.data).sort()).toEqual(Object.keys(CLAIM_WEBHOOK_PAYLOAD_SCHEMA.properties.data.properties).sort());
  });

  it("is built once per isolate, not per request", async () => {
    openApiDocument(app);
    const spy = vi.spyOn(app, "getOpenAPI31Document");
    try {
      const a = await call("GET", "/openapi.json");
      const b = await call("GET", "/openapi.json");
      expect(a.text).toBe(b.text);
      expect(spy).not.toHaveBeenCalled();
      expect(openApiDocument(app)).toBe(openApiDocument(app));
    } finally {
      spy.mockRestore();
    }
  });
});

describe("a typed client generated from the document (openapi-typescript + openapi-fetch) calls the Worker", () => {
  const client = createFetchClient<paths>({ baseUrl: GATEWAY, fetch: (req: Request) => exports.default.fetch(req) });

  it("creates a client, takes a token, submits and reads a claim", async () => {
    const health = await client.GET("/healthz");
    expect(health.data?.status).toBe("ok");

    const created = await client.POST("/v1/admin/clients", {
      headers: { "X-API-Key": env.ADMIN_API_KEY! },
      body: { name: "typed client", scopes: ["claims:write", "claims:read"] },
    });
    expect(created.response.status).toBe(201);
    const { clientId, clientSecret } = created.data!;

    const token = await client.POST("/v1/auth/token", {
      body: { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
      bodySerializer: (b) => new URLSearchParams(b as Record<string, string>),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(token.response.status).toBe(200);
    const auth = { Authorization: `Bearer ${token.data!.access_token}` };

    const claimId = crypto.randomUUID();
    const submitted = await client.POST("/v1/claims", {
      headers: auth,
      body: {
        claimId,
        ashaId: ashaId(),
        period: "2026-01",
        verifiedBy: { employeeId: "34455", name: "ASHA Supervisor" },
        activities: [{ code: "HBNC_VISIT", count: 3, amount: 300 }],
        schedule: "cutoff",
      },
    });
    expect(submitted.response.status).toBe(202);
    expect(submitted.data?.status).toBe("SCHEDULED");

    const read = await client.GET("/v1/claims/{claimId}", { headers: auth, params: { path: { claimId } } });
    expect(read.data?.claimId).toBe(claimId);
    expect(read.data?.totalAmount).toBe(300);

    const refused = await client.GET("/v1/claims/{claimId}", { params: { path: { claimId } } });
    expect(refused.response.status).toBe(401);
    expect(refused.error?.error.code).toBe("UNAUTHORIZED");
  });
});

describe("/docs is a real API reference with no CDN", () => {
  it("serves Scalar from the Worker's static assets, under a policy that admits this origin only", async () => {
    const page = await call("GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
    // The page names no other origin: every script and link is a path on this gateway.
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    const scripts = [...page.text.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual(["/docs/assets/scalar-api-reference.js", "/docs/assets/reference.js"]);
    for (const src of scripts) {
      const asset = await exports.default.fetch(new Request(`${GATEWAY}${src}`));
      expect(asset.status, src).toBe(200);
      expect(asset.headers.get("content-type"), src).toMatch(/javascript/);
      const text = await asset.text();
      expect(text.length, src).toBeGreaterThan(100);
      if (src === "/docs/assets/reference.js") {
        // The start-up script switches off Scalar's fonts CDN, proxy, telemetry and agent, and names no origin.
        expect(text).toMatch(/withDefaultFonts: false/);
        expect(text).toMatch(/proxyUrl: ""/);
        expect(text).toMatch(/telemetry: false/);
        expect(text).not.toMatch(/https?:\/\//);
      }
    }
    const missing = await call("GET", "/docs/assets/nothing-here.js");
    expect(missing.status).toBe(404);
  });
});
