import { z } from "zod";
import { cfg, defineConfig, type Env } from "../../env";
import { GatewayError } from "../../errors";
import { fromBase64 } from "../../domain/security/crypto";
import { importSigningKey, importTrustedKeys } from "./keys";
import type { SignatureScope } from "./signing";

const base64Key32 = () =>
  z.string().refine((v) => {
    try {
      return fromBase64(v.trim()).byteLength === 32;
    } catch {
      return false;
    }
  }, "base64 of 32 bytes");

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
    DATA_ENCRYPTION_KEY: base64Key32(),
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

/** AES-GCM key for personal data at rest (CONTRACT §11). */
export const getDataProtectionConfig = defineConfig("data protection", z.object({ DATA_ENCRYPTION_KEY: base64Key32() }));

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

export function getSigningKey(env: Env): Promise<CryptoKey> {
  const c = getIfixConfig(env);
  return cached(env, "signing", () => importSigningKey(c.IFIX_SIGNING_KEY).catch(() => Promise.reject(malformed("ifix", "IFIX_SIGNING_KEY"))));
}

export function getTrustedKeys(env: Env): Promise<Map<string, CryptoKey[]>> {
  const c = getIfixTrustConfig(env);
  return cached(env, "trusted", () => importTrustedKeys(c.IFIX_TRUSTED_KEYS).catch(() => Promise.reject(malformed("ifix callbacks", "IFIX_TRUSTED_KEYS"))));
}

export function getDataKey(env: Env): Promise<CryptoKey> {
  const c = getDataProtectionConfig(env);
  return cached(env, "data", () =>
    crypto.subtle.importKey("raw", fromBase64(c.DATA_ENCRYPTION_KEY.trim()), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]),
  );
}

export const signatureScope = (env: Env): SignatureScope => getIfixTrustConfig(env).IFIX_SIGNATURE_SCOPE;
