import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { z } from "zod";
import { cfg, defineConfig, readVar, type Env } from "../../src/env";
import { GatewayError } from "../../src/errors";
import { codeToStatus } from "../../src/http/errors";
import { createApp } from "../../src/http/app";

describe("configuration (CONTRACT §2)", () => {
  // @ts-expect-error DEMO_* are in no configuration: defineConfig refuses names that Env lacks (a type test too).
  const getDemo = defineConfig("demo", z.object({ DEMO_BASE_URL: cfg.url(), DEMO_SECRET: cfg.secret(), DEMO_RPS: cfg.int(20, 1, 1000) }));

  it("names the missing variable in a 503 CONFIG_INVALID", () => {
    const e = (() => {
      try {
        getDemo({ DEMO_BASE_URL: "https://x.example", DEMO_RPS: "5" } as unknown as Env);
      } catch (err) {
        return err as GatewayError;
      }
    })()!;
    expect(e).toBeInstanceOf(GatewayError);
    expect(e.code).toBe("CONFIG_INVALID");
    expect(codeToStatus(e.code)).toBe(503);
    expect(e.message).toContain("DEMO_SECRET");
    expect(e.details).toEqual([{ path: "DEMO_SECRET", message: "missing" }]);
  });

  it("names a malformed variable without echoing its value", () => {
    try {
      getDemo({ DEMO_BASE_URL: "not a url", DEMO_SECRET: "s3cr3t-value", DEMO_RPS: "many" } as unknown as Env);
      expect.unreachable();
    } catch (err) {
      const e = err as GatewayError;
      expect(e.details).toEqual(
        expect.arrayContaining([
          { path: "DEMO_BASE_URL", message: "malformed" },
          { path: "DEMO_RPS", message: "malformed" },
        ]),
      );
      expect(JSON.stringify(e.details) + e.message).not.toContain("s3cr3t-value");
    }
  });

  it("applies development defaults only under ENVIRONMENT=development", () => {
    expect(readVar({ ENVIRONMENT: "production" } as Env, "ASSAM_BASE_URL")).toBeUndefined();
    expect(readVar({ ENVIRONMENT: "development" } as Env, "ASSAM_BASE_URL")).toMatch(/^http:\/\/127\.0\.0\.1/);
    expect(readVar({ ENVIRONMENT: "development", ASSAM_BASE_URL: "https://portal" } as Env, "ASSAM_BASE_URL")).toBe("https://portal");
  });

  it("a deployment without the admin key answers 503 naming it, while /healthz keeps working", async () => {
    const app = createApp();
    const partial = { ...env, ADMIN_API_KEY: undefined, ENVIRONMENT: "production" } as unknown as Env;
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await app.fetch(new Request("http://gw/v1/admin/audit", { headers: { "X-API-Key": "anything" } }), partial, ctx);
    expect(res.status).toBe(503);
    const body = (await res.json()) as any;
    expect(body.error.code).toBe("CONFIG_INVALID");
    expect(body.error.message).toContain("ADMIN_API_KEY");
    const health = await app.fetch(new Request("http://gw/healthz"), partial, ctx);
    expect(health.status).toBe(200);
  });
});
