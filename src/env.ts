import { z } from "zod";
import { GatewayError } from "./errors";

/**
 * Every binding and variable the Worker is given. The bindings, the vars and the required secrets are
 * generated from wrangler.jsonc by `wrangler types` (worker-configuration.d.ts, `GatewayBindings`:
 * `npm run types` after changing the configuration; CI checks the two agree). Secrets are optional
 * there because a local run may leave them to the development defaults. Added here: the secrets a
 * deployment may leave unset, which no configuration file names.
 */
export interface Env extends GatewayBindings {
  /** Static Assam key, used only when no client credentials are set. */
  ASSAM_API_KEY?: string;
  /** HMAC key for the claims webhook, when CLAIMS_WEBHOOK_URL is set. */
  CLAIMS_WEBHOOK_SECRET?: string;
  /** HMAC key for operators' alerts, when ALERT_WEBHOOK_URL is set. */
  ALERT_WEBHOOK_SECRET?: string;
  /**
   * "1" only in the benchmark's round-trip pass (bench/scenarios/roundtrips.mjs): answers carry
   * X-Round-Trips (src/lib/round-trips.ts). Deliberately in no configuration file.
   */
  TRACE_ROUND_TRIPS?: string;
}

/** The names in Env that hold configuration strings (vars and secrets): what readVar and defineConfig read. */
export type ConfigName = { [K in keyof Env]-?: NonNullable<Env[K]> extends string ? K : never }[keyof Env];

export const isDevelopment = (env: Env): boolean => env.ENVIRONMENT === "development";

/**
 * Development defaults. They apply only when ENVIRONMENT=development (which `npm start` sets), so a
 * deployment without full configuration answers 503 CONFIG_INVALID instead of running on them.
 * The keys here are throw-away development values, never secrets: `npm start` writes fresh random
 * ones into .dev.vars on first run.
 */
export const DEVELOPMENT_DEFAULTS: Readonly<Partial<Record<ConfigName, string>>> = {
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
export function readVar(env: Env, name: ConfigName): string | undefined {
  const value = env[name];
  if (typeof value === "string" && value.trim() !== "") return value;
  if (isDevelopment(env)) return DEVELOPMENT_DEFAULTS[name];
  return undefined;
}

const cache = new WeakMap<object, Map<string, unknown>>();

/**
 * Whether the parse running now may accept plain-http upstream URLs anywhere (development only). Set
 * by defineConfig around its one synchronous parse and reset right after, so a URL schema used
 * anywhere else is strict.
 */
let developmentParse = false;

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
/** Special-use names (RFC 6761) that no public resolver answers: a plain-http URL to one reaches nothing real. */
const SPECIAL_USE_HOST = /\.(localhost|test)$/i;

/**
 * Plain http is accepted for a loopback address (local runs) and for `.test`/`.localhost` hosts (the
 * tests' sandbox, `http://sandbox.test`): neither can carry a request to a real portal, so no
 * setting can let a deployment talk to one without TLS. Everything else needs https (seed 000: TLS 1.2+).
 */
export function plainHttpPermitted(url: URL): boolean {
  return LOOPBACK_HOST.test(url.hostname) || SPECIAL_USE_HOST.test(url.hostname);
}

const INSECURE_URL = "insecure-url";

/**
 * Builds a validator for one adapter's configuration. The first call per `env` object parses the
 * named variables with zod; a missing or malformed one raises 503 CONFIG_INVALID naming it (and only
 * its name: a malformed secret's value is never echoed).
 */
export function defineConfig<S extends z.ZodObject<z.ZodRawShape>>(
  area: string,
  // A name that is not in Env (wrangler.jsonc or the optional secrets above) is a type error.
  schema: S & (Exclude<keyof S["shape"], ConfigName> extends never ? unknown : { notInEnv: Exclude<keyof S["shape"], ConfigName> }),
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
    for (const name of Object.keys(schema.shape) as ConfigName[]) raw[name] = readVar(env, name);
    developmentParse = isDevelopment(env);
    let parsed: z.ZodSafeParseResult<z.infer<S>>;
    try {
      parsed = schema.safeParse(raw) as z.ZodSafeParseResult<z.infer<S>>;
    } finally {
      developmentParse = false;
    }
    if (!parsed.success) {
      const insecure = (i: z.core.$ZodIssue) => i.code === "custom" && (i as { params?: { reason?: string } }).params?.reason === INSECURE_URL;
      const named = (issues: z.core.$ZodIssue[]) => [...new Set(issues.map((i) => String(i.path[0])))];
      const plain = named(parsed.error.issues.filter(insecure));
      const bad = named(parsed.error.issues.filter((i) => !insecure(i)));
      const parts = [
        ...(bad.length ? [`${bad.join(", ")} missing or malformed`] : []),
        ...(plain.length ? [`${plain.join(", ")} must use https`] : []),
      ];
      throw new GatewayError("CONFIG_INVALID", `${area} is not configured: ${parts.join("; ")}`, {
        details: parsed.error.issues.map((i) => ({
          path: String(i.path[0]),
          message: insecure(i) ? "must use https" : raw[String(i.path[0])] === undefined ? "missing" : "malformed",
        })),
      });
    }
    perEnv.set(area, parsed.data);
    return parsed.data;
  };
}

/** A URL that is https, or plain http only where plainHttpPermitted or in development. */
const secureUrl = () =>
  z
    .string()
    .url()
    .superRefine((v, ctx) => {
      if (!URL.canParse(v)) return; // url() has reported it; zod runs refinements after a failed check
      const u = new URL(v);
      if (u.protocol === "https:") return;
      if (u.protocol === "http:" && (developmentParse || plainHttpPermitted(u))) return;
      ctx.addIssue({ code: "custom", message: "must use https", params: { reason: INSECURE_URL } });
    });

/** zod helpers for config values, which always arrive as strings. */
export const cfg = {
  /**
   * An upstream URL: https, or plain http only under ENVIRONMENT=development or toward a loopback or
   * special-use host (plainHttpPermitted). Otherwise 503 CONFIG_INVALID "<NAME> must use https".
   */
  url: () => secureUrl().transform((u) => u.replace(/\/+$/, "")),
  /** An optional URL (a webhook) under the same rule, kept exactly as given; empty means absent. */
  optionalUrl: () =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()))
      .pipe(secureUrl().optional()),
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
  withDefault: (def: string) =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v === "" ? def : v)),
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
