import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { z } from "zod";
import { cfg, defineConfig, type Env } from "../../src/env";
import { GatewayError } from "../../src/errors";
import { createApp } from "../../src/http/app";
import { getAssamConfig } from "../../src/adapters/assam/config";
import { getIfixConfig } from "../../src/adapters/ifix/config";
import { getUmangConfig } from "../../src/adapters/umang/config";
import { createClient } from "../helpers/gateway";

/**
 * Issue 15 item 17: upstream base URLs must be https (seed 000: TLS 1.2+). Plain http is refused with
 * 503 CONFIG_INVALID naming the variable, except under ENVIRONMENT=development and toward a loopback
 * address or a special-use host (`.test`, `.localhost`), which reach nothing real: the tests' sandbox
 * is `http://sandbox.test`, and no setting can let a deployment talk to a portal without TLS.
 */

// @ts-expect-error PROBE_* are in no configuration: defineConfig refuses names Env lacks (see test/http/config.test.ts).
const probe = defineConfig("probe", z.object({ PROBE_URL: cfg.url(), PROBE_HOOK_URL: cfg.optionalUrl() }));
const configError = (fn: () => unknown): GatewayError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected CONFIG_INVALID");
};
const at = (vars: Record<string, string | undefined>) => ({ ...env, ...vars }) as unknown as Env;

describe("cfg.url()", () => {
  it("refuses plain http outside development, naming the variable", () => {
    for (const ENVIRONMENT of ["production", "test", "staging", undefined]) {
      const e = configError(() => probe(at({ ENVIRONMENT, PROBE_URL: "http://umang.example.gov.in/ws1/1.0" })));
      expect(e.code).toBe("CONFIG_INVALID");
      expect(e.message).toBe("probe is not configured: PROBE_URL must use https");
      expect(e.details).toEqual([{ path: "PROBE_URL", message: "must use https" }]);
    }
    const hook = configError(() => probe(at({ ENVIRONMENT: "production", PROBE_URL: "https://a.example", PROBE_HOOK_URL: "http://hooks.example" })));
    expect(hook.details).toEqual([{ path: "PROBE_HOOK_URL", message: "must use https" }]);
    // Other schemes are no better.
    expect(configError(() => probe(at({ ENVIRONMENT: "production", PROBE_URL: "ftp://files.example/x" }))).details[0]).toMatchObject({
      path: "PROBE_URL",
    });
  });

  it("accepts https anywhere, and plain http in development or toward hosts that reach nothing real", () => {
    expect(probe(at({ ENVIRONMENT: "production", PROBE_URL: "https://umang.example.gov.in/ws1/1.0/" })).PROBE_URL).toBe(
      "https://umang.example.gov.in/ws1/1.0",
    );
    expect(probe(at({ ENVIRONMENT: "development", PROBE_URL: "http://umang.example.gov.in" })).PROBE_URL).toBe("http://umang.example.gov.in");
    for (const url of [
      "http://127.0.0.1:8788/umang",
      "http://localhost:8787",
      "http://[::1]:8788",
      "http://sandbox.test",
      "http://portal.localhost",
    ]) {
      expect(probe(at({ ENVIRONMENT: "production", PROBE_URL: url })).PROBE_URL).toBe(url);
    }
    // Look-alikes are not special: only the names themselves.
    for (const url of ["http://sandbox.test.example.com", "http://localhost.example.com", "http://127.0.0.1.example.com"]) {
      expect(configError(() => probe(at({ ENVIRONMENT: "production", PROBE_URL: url }))).details[0].message).toBe("must use https");
    }
    expect(probe(at({ ENVIRONMENT: "production", PROBE_URL: "https://a.example", PROBE_HOOK_URL: "" })).PROBE_HOOK_URL).toBeUndefined();
  });

  it("holds for every upstream adapter: Assam, UMANG and iFIX (base and callback URLs)", () => {
    const insecure = "http://portal.example.gov.in";
    expect(configError(() => getAssamConfig(at({ ASSAM_BASE_URL: insecure }))).message).toContain("ASSAM_BASE_URL must use https");
    expect(configError(() => getUmangConfig(at({ UMANG_BASE_URL: insecure }))).message).toContain("UMANG_BASE_URL must use https");
    expect(configError(() => getIfixConfig(at({ IFIX_BASE_URL: insecure }))).message).toContain("IFIX_BASE_URL must use https");
    expect(configError(() => getIfixConfig(at({ IFIX_CALLBACK_URL: `${insecure}/ifix/v1` }))).message).toContain("IFIX_CALLBACK_URL must use https");
  });

  it("a route that needs the upstream answers 503 CONFIG_INVALID naming it, and nothing is sent", async () => {
    const { token } = await createClient(["health"], "https check");
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await createApp().fetch(
      new Request("http://gw/v1/health/states", { headers: { Authorization: `Bearer ${token}` } }),
      at({ UMANG_BASE_URL: "http://umang.example.gov.in/ws1/1.0" }),
      ctx,
    );
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string; details: unknown[] } };
    expect(body.error.code).toBe("CONFIG_INVALID");
    expect(body.error.message).toContain("UMANG_BASE_URL must use https");
    expect(body.error.details).toEqual([{ path: "UMANG_BASE_URL", message: "must use https" }]);
  });
});

describe("outgoing webhooks follow the same rule", () => {
  it("CLAIMS_WEBHOOK_URL and ALERT_WEBHOOK_URL must be https outside development", async () => {
    const { getClaimsWebhookConfig } = await import("../../src/adapters/assam/config");
    const { getAlertConfig } = await import("../../src/cron/alerts.job");
    // A well-formed Standard Webhooks secret, so the only problem left is the scheme.
    const secret = `whsec_${btoa("0123456789abcdef0123")}`;
    const claims = configError(() =>
      getClaimsWebhookConfig(at({ CLAIMS_WEBHOOK_URL: "http://amrit.example.in/hooks", CLAIMS_WEBHOOK_SECRET: secret })),
    );
    expect(claims.details).toEqual([{ path: "CLAIMS_WEBHOOK_URL", message: "must use https" }]);
    const alerts = configError(() => getAlertConfig(at({ ALERT_WEBHOOK_URL: "http://ops.example.in/alerts" })));
    expect(alerts.details).toEqual([{ path: "ALERT_WEBHOOK_URL", message: "must use https" }]);
    expect(
      getClaimsWebhookConfig(at({ CLAIMS_WEBHOOK_URL: "https://amrit.example.in/hooks", CLAIMS_WEBHOOK_SECRET: secret })).CLAIMS_WEBHOOK_URL,
    ).toBe("https://amrit.example.in/hooks");
  });
});
