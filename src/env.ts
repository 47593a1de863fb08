import { z } from "zod";
import { GatewayError } from "./errors";

/** Every binding and variable the Worker is given (wrangler.toml, secrets, .dev.vars). */
export interface Env {
  DB: D1Database;
  TOKEN_CACHE: KVNamespace;
  CLAIMS_DELIVERY: Queue;
  FISCAL_DELIVERY: Queue;
  WEBHOOKS: Queue;
  DEAD_LETTERS: Queue;
  FUNDS_ACCOUNT: DurableObjectNamespace<import("./durable-objects/funds-account").FundsAccount>;
  /** paymentId / txnId uniqueness across accounts (64 shards). */
  FUNDS_REGISTRY: DurableObjectNamespace<import("./durable-objects/funds-registry").FundsRegistry>;
  RATE_PACER: DurableObjectNamespace<import("./durable-objects/rate-pacer").RatePacer>;
  TOKEN_BROKER: DurableObjectNamespace<import("./durable-objects/token-broker").TokenBroker>;
  CLIENT_RATE_LIMITER?: RateLimit;
  /** Failed credentials per caller address (API keys, tokens, secrets, the admin key). */
  CREDENTIAL_FAILURE_LIMITER?: RateLimit;

  ENVIRONMENT?: string;
  ADMIN_API_KEY?: string;
  JWT_SIGNING_KEY?: string;
  UPSTREAM_TIMEOUT_MS?: string;
  ASSAM_BASE_URL?: string;
  ASSAM_CLIENT_ID?: string;
  ASSAM_CLIENT_SECRET?: string;
  ASSAM_API_KEY?: string;
  PARTNER_CODE?: string;
  ASSAM_MAX_RPS?: string;
  DELIVERY_MAX_ATTEMPTS?: string;
  DELIVERY_BACKOFF_BASE_MS?: string;
  CLAIMS_WEBHOOK_URL?: string;
  CLAIMS_WEBHOOK_SECRET?: string;
  UMANG_BASE_URL?: string;
  UMANG_API_TOKEN?: string;
  UMANG_DEPT_ID?: string;
  UMANG_SERVICE_ID?: string;
  UMANG_TKN?: string;
  UMANG_USER_ID?: string;
  UMANG_MODE?: string;
  UMANG_PLATFORM?: string;
  UMANG_CLIENT_ID?: string;
  UMANG_CLIENT_SECRET?: string;
  IFIX_BASE_URL?: string;
  IFIX_SENDER_ID?: string;
  IFIX_RECEIVER_ID?: string;
  IFIX_CALLBACK_URL?: string;
  IFIX_SIGNING_KEY?: string;
  IFIX_TRUSTED_KEYS?: string;
  IFIX_SIGNATURE_SCOPE?: string;
  /** AES-GCM key ring `kid:base64-32-bytes[,kid:…]` (or one bare base64 key) for personal data at rest (CONTRACT v3 §2, §11). */
  DATA_ENCRYPTION_KEY?: string;
  /** Days verified iFIX callbacks are kept (default 400). */
  FISCAL_CALLBACK_RETENTION_DAYS?: string;
  /** Optional operators' alert webhook (issue 6). */
  ALERT_WEBHOOK_URL?: string;
  [key: string]: unknown;
}

export const isDevelopment = (env: Env): boolean => env.ENVIRONMENT === "development";

/**
 * Development defaults. They apply only when ENVIRONMENT=development (which `npm start` sets), so a
 * deployment without full configuration answers 503 CONFIG_INVALID instead of running on them.
 * The keys here are throw-away development values, never secrets: `npm start` writes fresh random
 * ones into .dev.vars on first run.
 */
export const DEVELOPMENT_DEFAULTS: Readonly<Record<string, string>> = {
  ADMIN_API_KEY: "dev-admin-key-NOT-FOR-PRODUCTION",
  JWT_SIGNING_KEY: "dev:ZGV2ZWxvcG1lbnQtb25seS1qd3Qta2V5LW5vdC1hLXNlY3JldA",
  ASSAM_BASE_URL: "http://127.0.0.1:8788/assam",
  ASSAM_CLIENT_ID: "sandbox-amrit",
  ASSAM_CLIENT_SECRET: "sandbox-secret-NOT-FOR-PRODUCTION",
  UMANG_BASE_URL: "http://127.0.0.1:8788/umang/ws1/1.0",
  UMANG_API_TOKEN: "sandbox-umang-bearer-NOT-FOR-PRODUCTION",
  UMANG_TKN: "sandbox-tkn",
  UMANG_USER_ID: "sandbox-user",
  UMANG_CLIENT_ID: "SBX_SANDBOX",
  UMANG_CLIENT_SECRET: "sandbox-umang-secret-NOT-FOR-PRODUCTION",
  IFIX_BASE_URL: "http://127.0.0.1:8788/ifix",
  IFIX_SENDER_ID: "amrit@http://127.0.0.1:8787",
  IFIX_RECEIVER_ID: "ifix@http://127.0.0.1:8788/ifix",
  IFIX_CALLBACK_URL: "http://127.0.0.1:8787/ifix/v1",
  DATA_ENCRYPTION_KEY: "ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE=",
};

/** Reads a variable, falling back to its development default only under ENVIRONMENT=development. */
export function readVar(env: Env, name: string): string | undefined {
  const value = env[name];
  if (typeof value === "string" && value.trim() !== "") return value;
  if (isDevelopment(env)) return DEVELOPMENT_DEFAULTS[name];
  return undefined;
}

const cache = new WeakMap<object, Map<string, unknown>>();

/**
 * Builds a validator for one adapter's configuration. The first call per `env` object parses the
 * named variables with zod; a missing or malformed one raises 503 CONFIG_INVALID naming it (and only
 * its name: a malformed secret's value is never echoed).
 */
export function defineConfig<S extends z.ZodObject<z.ZodRawShape>>(
  area: string,
  schema: S,
): (env: Env) => z.infer<S> {
  return (env: Env) => {
    let perEnv = cache.get(env);
    if (!perEnv) {
      perEnv = new Map();
      cache.set(env, perEnv);
    }
    const hit = perEnv.get(area);
    if (hit) return hit as z.infer<S>;
    const raw: Record<string, string | undefined> = {};
    for (const name of Object.keys(schema.shape)) raw[name] = readVar(env, name);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const names = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
      throw new GatewayError("CONFIG_INVALID", `${area} is not configured: ${names.join(", ")} missing or malformed`, {
        details: parsed.error.issues.map((i) => ({
          path: String(i.path[0]),
          message: raw[String(i.path[0])] === undefined ? "missing" : "malformed",
        })),
      });
    }
    perEnv.set(area, parsed.data);
    return parsed.data;
  };
}

/** zod helpers for config values, which always arrive as strings. */
export const cfg = {
  url: () => z.string().url().transform((u) => u.replace(/\/+$/, "")),
  secret: () => z.string().min(1),
  int: (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === "") return def;
        if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
          ctx.addIssue({ code: "custom", message: `an integer from ${min} to ${max}` });
          return z.NEVER;
        }
        return Number(v);
      }),
  optional: () => z.string().optional(),
  withDefault: (def: string) => z.string().optional().transform((v) => (v === undefined || v === "" ? def : v)),
};

/** Settings shared by every upstream adapter. */
export const getUpstreamConfig = defineConfig(
  "upstream",
  z.object({
    UPSTREAM_TIMEOUT_MS: cfg.int(10_000, 100, 120_000),
    DELIVERY_MAX_ATTEMPTS: cfg.int(8, 1, 100),
    DELIVERY_BACKOFF_BASE_MS: cfg.int(2_000, 1, 43_200_000),
  }),
);

/** The gateway's own credentials (admin key, caller-token signing keys). */
export const getAuthConfig = defineConfig(
  "auth",
  z.object({
    ADMIN_API_KEY: z.string().min(16),
    JWT_SIGNING_KEY: z.string().min(1),
  }),
);
