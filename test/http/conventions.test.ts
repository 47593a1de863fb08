import { describe, expect, it } from "vitest";
import { call, expectError } from "../helpers/gateway";

describe("HTTP conventions (CONTRACT §3)", () => {
  it("GET /healthz answers 200 with a request id", async () => {
    const res = await call("GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.json.status).toBe("ok");
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("echoes a safe X-Request-Id and replaces an unsafe one", async () => {
    expect((await call("GET", "/healthz", { headers: { "X-Request-Id": "amrit-req.42" } })).headers.get("x-request-id")).toBe("amrit-req.42");
    const unsafe = await call("GET", "/healthz", { headers: { "X-Request-Id": "<script>alert(1)</script>" } });
    expect(unsafe.headers.get("x-request-id")).not.toContain("<");
  });

  it("answers an unknown route 404 NOT_FOUND in the envelope", async () => {
    expectError(await call("GET", "/v1/nothing-here"), 404, "NOT_FOUND");
    expectError(await call("GET", "/nothing"), 404, "NOT_FOUND");
  });

  it("answers malformed JSON 400 VALIDATION_FAILED", async () => {
    const e = expectError(
      await call("POST", "/v1/admin/clients", { admin: true, rawBody: '{"name": ', headers: { "Content-Type": "application/json" } }),
      400,
      "VALIDATION_FAILED",
    );
    expect(e.details.length).toBeGreaterThan(0);
  });

  it("answers a wrong content type 415", async () => {
    expectError(
      await call("POST", "/v1/admin/clients", { admin: true, rawBody: "name=x", headers: { "Content-Type": "text/plain" } }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
  });

  it("answers a body over 1 MiB 413, by declared length and by actual bytes", async () => {
    const big = JSON.stringify({ name: "x".repeat(1024 * 1024 + 10), scopes: ["ops"] });
    expectError(
      await call("POST", "/v1/admin/clients", { admin: true, rawBody: big, headers: { "Content-Type": "application/json" } }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    const stream = new ReadableStream({
      start(ctrl) {
        for (let i = 0; i < 20; i++) ctrl.enqueue(new TextEncoder().encode("x".repeat(64 * 1024)));
        ctrl.close();
      },
    });
    expectError(
      await call("POST", "/v1/admin/clients", { admin: true, rawBody: stream, headers: { "Content-Type": "application/json" } }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
  });

  it("answers unknown fields and wrong types with details naming the path", async () => {
    const unknown = expectError(
      await call("POST", "/v1/admin/clients", { admin: true, body: { name: "x", scopes: ["ops"], extra: 1 } }),
      400,
      "VALIDATION_FAILED",
    );
    expect(unknown.details).toContainEqual({ path: "extra", message: "unknown field" });
    const wrong = expectError(
      await call("POST", "/v1/admin/clients", { admin: true, body: { name: 5, scopes: ["nope"] } }),
      400,
      "VALIDATION_FAILED",
    );
    expect(wrong.details.map((d: any) => d.path)).toEqual(expect.arrayContaining(["name", "scopes.0"]));
  });

  it("refuses numbers a double cannot hold exactly", async () => {
    const e = expectError(
      await call("POST", "/v1/admin/clients", {
        admin: true,
        rawBody: '{"name":"x","scopes":["ops"],"n":10.0000000000000000001}',
        headers: { "Content-Type": "application/json" },
      }),
      400,
      "VALIDATION_FAILED",
    );
    expect(e.details[0].message).toMatch(/exactly/);
  });

  it("describes its routes in /openapi.json and renders a reference page without a CDN", async () => {
    const doc = await call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe("3.1.0");
    for (const p of ["/healthz", "/v1/auth/token", "/v1/admin/clients", "/v1/admin/clients/{clientId}/rotate", "/v1/admin/audit"])
      expect(doc.json.paths).toHaveProperty([p]);
    expect(doc.json.components.securitySchemes).toHaveProperty("oauth2");
    const page = await call("GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    // Scalar's reference, from this origin's static assets (test/http/openapi.test.ts loads them).
    expect(page.text).toContain('<script src="/docs/assets/scalar-api-reference.js">');
    expect(page.text).not.toMatch(/<script[^>]+src="(https?:)?\/\/|<link[^>]+href="(https?:)?\/\//);
  });
});
