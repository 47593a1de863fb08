import { z } from "zod";
import { cfg, defineConfig, type Env } from "../../env";
import { GatewayError } from "../../errors";
import { isKeyRing, parseKeyRing } from "../../domain/fiscal/key-ring";
import { importSigningKeys, importTrustedKeys, publicJwks, type SigningKeyEntry } from "./keys";
import type { SignatureScope } from "./signing";

/** DATA_ENCRYPTION_KEY: a key ring `kid:base64[,kid:base64…]`, or today's bare base64 key. */
const dataKeyRing = () => z.string().refine(isKeyRing, "kid:base64-32-bytes[,kid:base64-32-bytes…] (or one bare base64 key)");

/** IFIX_SIGNATURE_SCOPE: unset or empty → header+message (CONTRACT §7); read the same way for sending and verifying. */
const signatureScopeSetting = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === "" ? "header+message" : v))
  .pipe(z.enum(["header+message", "message"] as const satisfies readonly SignatureScope[]));

/** What sending to iFIX needs (CONTRACT §2). */
export const getIfixConfig = defineConfig(
  "ifix",
  z.object({
    IFIX_BASE_URL: cfg.url(),
    IFIX_SENDER_ID: z.string().min(1).max(256),
    IFIX_RECEIVER_ID: z.string().min(1).max(256),
    IFIX_CALLBACK_URL: cfg.url(),
    IFIX_SIGNING_KEY: cfg.secret(),
    IFIX_SIGNATURE_SCOPE: signatureScopeSetting,
    DATA_ENCRYPTION_KEY: dataKeyRing(),
  }),
);

/** What verifying iFIX callbacks needs. */
export const getIfixTrustConfig = defineConfig(
  "ifix callbacks",
  z.object({
    IFIX_TRUSTED_KEYS: cfg.secret(),
    IFIX_SIGNATURE_SCOPE: signatureScopeSetting,
  }),
);

/** What publishing the gateway's public keys needs (GET /.well-known/jwks.json). */
export const getIfixSigningKeyConfig = defineConfig("ifix signing keys", z.object({ IFIX_SIGNING_KEY: cfg.secret() }));

/** The key ring for personal data at rest (CONTRACT §11). */
export const getDataProtectionConfig = defineConfig("data protection", z.object({ DATA_ENCRYPTION_KEY: dataKeyRing() }));

const keyCache = new WeakMap<object, Map<string, Promise<unknown>>>();

function cached<T>(env: Env, name: string, make: () => Promise<T>): Promise<T> {
  let m = keyCache.get(env);
  if (!m) keyCache.set(env, (m = new Map()));
  let p = m.get(name) as Promise<T> | undefined;
  if (!p) {
    p = make();
    m.set(name, p);
    p.catch(() => m!.delete(name));
  }
  return p;
}

const malformed = (area: string, name: string) =>
  new GatewayError("CONFIG_INVALID", `${area} is not configured: ${name} missing or malformed`, { details: [{ path: name, message: "malformed" }] });

/** Every key of IFIX_SIGNING_KEY (one key, or a JSON array during a rotation); the first signs. */
export function getSigningKeys(env: Env): Promise<SigningKeyEntry[]> {
  const c = getIfixSigningKeyConfig(env);
  return cached(env, "signing", () => importSigningKeys(c.IFIX_SIGNING_KEY).catch(() => Promise.reject(malformed("ifix", "IFIX_SIGNING_KEY"))));
}

/** The key that signs outgoing messages (the first of IFIX_SIGNING_KEY). */
export async function getSigningKey(env: Env): Promise<CryptoKey> {
  getIfixConfig(env);
  return (await getSigningKeys(env))[0].privateKey;
}

/** The public halves of IFIX_SIGNING_KEY as a JWK set (kid, alg RS256). */
export function getPublicJwks(env: Env): Promise<{ keys: Record<string, unknown>[] }> {
  const c = getIfixSigningKeyConfig(env);
  return cached(env, "jwks", () => publicJwks(c.IFIX_SIGNING_KEY).catch(() => Promise.reject(malformed("ifix", "IFIX_SIGNING_KEY"))));
}

export function getTrustedKeys(env: Env): Promise<Map<string, CryptoKey[]>> {
  const c = getIfixTrustConfig(env);
  return cached(env, "trusted", () =>
    importTrustedKeys(c.IFIX_TRUSTED_KEYS).catch(() => Promise.reject(malformed("ifix callbacks", "IFIX_TRUSTED_KEYS"))),
  );
}

export interface DataKey {
  kid: string;
  key: CryptoKey;
}

/** The data key ring: `primary` encrypts, `all` decrypt (CONTRACT v3 §2). */
export function getDataKeys(env: Env): Promise<{ primary: DataKey; all: DataKey[] }> {
  const c = getDataProtectionConfig(env);
  return cached(env, "data", async () => {
    const all = await Promise.all(
      parseKeyRing(c.DATA_ENCRYPTION_KEY).map(async (k) => ({
        kid: k.kid,
        key: await crypto.subtle.importKey("raw", k.raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]),
      })),
    );
    return { primary: all[0], all };
  });
}

export const signatureScope = (env: Env): SignatureScope => getIfixTrustConfig(env).IFIX_SIGNATURE_SCOPE;
