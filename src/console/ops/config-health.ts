import { and, desc, eq } from "drizzle-orm";
import { calculateJwkThumbprint, exportJWK, importPKCS8, type JWK } from "jose";
import { getAuthConfig, getUpstreamConfig, type ConfigName, type Env } from "../../env";
import { GatewayError } from "../../errors";
import type { Db } from "../../storage/db";
import { upstreamCalls } from "../../storage/schema/upstream-calls";
import { cronRuns } from "../../storage/schema/cron-runs";
import { getAssamConfig, getClaimsWebhookConfig } from "../../adapters/assam/config";
import { getUmangConfig } from "../../adapters/umang/config";
import { getDataProtectionConfig, getIfixConfig, getIfixTrustConfig } from "../../adapters/ifix/config";
import { getRetentionConfig } from "../../domain/funds/retention";
import { getAlertConfig } from "../../cron/alerts.job";
import { accessEnabled, getAccessConfig } from "../access";

/** One area's configuration: valid, or the names that are missing or malformed. Never a value. */
export interface AreaHealth {
  area: string;
  ok: boolean;
  /** Optional areas that are simply not set up (e.g. no claims webhook). */
  notConfigured?: boolean;
  problems: { name: string; problem: string }[];
}

const optionalUnset = (env: Env, names: ConfigName[]) => names.every((n) => env[n] === undefined || env[n] === "");

const AREAS: { area: string; check: (env: Env) => unknown; optional?: ConfigName[] }[] = [
  { area: "gateway credentials (ADMIN_API_KEY, JWT_SIGNING_KEY)", check: getAuthConfig },
  { area: "delivery (UPSTREAM_TIMEOUT_MS, DELIVERY_*)", check: getUpstreamConfig },
  { area: "Assam portal", check: getAssamConfig },
  { area: "claims webhook", check: getClaimsWebhookConfig, optional: ["CLAIMS_WEBHOOK_URL", "CLAIMS_WEBHOOK_SECRET"] },
  { area: "UMANG / NDHM", check: getUmangConfig },
  { area: "iFIX sending", check: getIfixConfig },
  { area: "iFIX callbacks", check: getIfixTrustConfig },
  { area: "data protection", check: getDataProtectionConfig },
  { area: "data retention", check: getRetentionConfig },
  { area: "alerts", check: getAlertConfig },
];

/** Each adapter's configuration checked the way the adapter checks it at first use (zod, names only). */
export function configHealth(env: Env): AreaHealth[] {
  const out = AREAS.map(({ area, check, optional }) => {
    if (optional && optionalUnset(env, optional)) return { area, ok: true, notConfigured: true, problems: [] };
    return run(area, () => check(env));
  });
  if (accessEnabled(env)) out.push(run("Cloudflare Access (console)", () => getAccessConfig(env)));
  else out.push({ area: "Cloudflare Access (console)", ok: true, notConfigured: true, problems: [] });
  return out;
}

function run(area: string, check: () => unknown): AreaHealth {
  try {
    check();
    return { area, ok: true, problems: [] };
  } catch (err) {
    if (!(err instanceof GatewayError) || err.code !== "CONFIG_INVALID") throw err;
    const problems = err.details.map((d) => ({ name: String(d.path ?? "?"), problem: d.message === "missing" ? "missing" : "malformed" }));
    return { area, ok: false, problems: problems.length ? problems : [{ name: "?", problem: "malformed" }] };
  }
}

export interface TokenHealth {
  provider: "assam" | "umang";
  cached: boolean;
  /** Epoch ms at which the cached token stops being used (the broker's margin included). */
  expiresAt: number | null;
  /** When the token was fetched: the last successful token call in the transaction log. */
  fetchedAt: string | null;
}

/** The cached upstream tokens (KV `upstream-token:<provider>`): present or not, expiry, age. Never the token. */
export async function tokenHealth(env: Env, db: Db): Promise<TokenHealth[]> {
  const providers = [
    { provider: "assam" as const, portal: "assam" as const, operation: "token" },
    { provider: "umang" as const, portal: "umang" as const, operation: "session" },
  ];
  return Promise.all(
    providers.map(async ({ provider, portal, operation }) => {
      const [cached, last] = await Promise.all([
        env.TOKEN_CACHE.get<{ expiresAt?: unknown }>(`upstream-token:${provider}`, "json").catch(() => null),
        db
          .select({ at: upstreamCalls.at })
          .from(upstreamCalls)
          .where(and(eq(upstreamCalls.portal, portal), eq(upstreamCalls.operation, operation), eq(upstreamCalls.outcome, "ok")))
          .orderBy(desc(upstreamCalls.id))
          .limit(1)
          .get(),
      ]);
      const expiresAt = cached && typeof cached.expiresAt === "number" ? cached.expiresAt : null;
      return { provider, cached: !!cached, expiresAt, fetchedAt: last?.at ?? null };
    }),
  );
}

export interface PublicKeyView {
  kid: string;
  bits: number;
  jwk: JWK;
}

/**
 * The public half of each key in IFIX_SIGNING_KEY (a PKCS#8 PEM, a private JWK, or a JSON array of
 * them during a rotation: the first signs), as iFIX needs it to verify the gateway's messages. The
 * private parts are dropped before anything leaves this function.
 */
export async function gatewayPublicKeys(env: Env): Promise<{ keys: PublicKeyView[] } | { error: string }> {
  let text: string;
  try {
    text = getIfixConfig(env).IFIX_SIGNING_KEY.trim();
  } catch {
    return { error: "IFIX_SIGNING_KEY (or another iFIX name) is missing or malformed" };
  }
  try {
    const entries: unknown[] = text.startsWith("[") ? (JSON.parse(text) as unknown[]) : [text];
    const keys: PublicKeyView[] = [];
    for (const entry of entries) {
      let jwk: JWK;
      if (typeof entry === "object" && entry !== null) jwk = entry as JWK;
      else if (typeof entry === "string" && entry.trim().startsWith("{")) jwk = JSON.parse(entry) as JWK;
      else if (typeof entry === "string")
        jwk = await exportJWK(await importPKCS8(entry.trim().replace(/\\n/g, "\n"), "RS256", { extractable: true }));
      else throw new Error("not a key");
      if (jwk.kty !== "RSA" || !jwk.n || !jwk.e) throw new Error("not an RSA key");
      const pub: JWK = { kty: "RSA", n: jwk.n, e: jwk.e };
      const kid = await calculateJwkThumbprint(pub);
      keys.push({ kid, bits: modulusBits(jwk.n), jwk: { ...pub, kid, alg: "RS256", use: "sig" } });
    }
    return { keys };
  } catch {
    return { error: "IFIX_SIGNING_KEY could not be read as a key (PKCS#8 PEM, RSA JWK, or a JSON array of them)" };
  }
}

/** The modulus's size from its base64url length (no padding: 6 bits a character). */
const modulusBits = (n: string) => Math.floor((n.length * 6) / 8) * 8;

/** Each scheduled job's last run. */
export const cronHealth = (db: Db) => db.select().from(cronRuns).orderBy(cronRuns.job).all();
