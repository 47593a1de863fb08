import { calculateJwkThumbprint, exportJWK, importJWK, importPKCS8, importSPKI, type JWK } from "jose";

/** RSA keys for iFIX signatures: RSASSA-PKCS1-v1_5 with SHA-256, 2048 bits or more. */
export const IFIX_ALG = "RS256";
export const MIN_MODULUS_BITS = 2048;

export class KeyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyFormatError";
  }
}

function checkStrength(key: CryptoKey): CryptoKey {
  const alg = key.algorithm as { name: string; modulusLength?: number };
  if (alg.name !== "RSASSA-PKCS1-v1_5" || (alg.modulusLength ?? 0) < MIN_MODULUS_BITS) {
    throw new KeyFormatError(`an RSA key of at least ${MIN_MODULUS_BITS} bits is required`);
  }
  return key;
}

const asCryptoKey = (k: unknown): CryptoKey => {
  if (!k || typeof k !== "object" || !("algorithm" in k)) throw new KeyFormatError("not a usable key");
  return k as CryptoKey;
};

/** One private key: PKCS#8 PEM or a private JWK (JSON text or object). */
async function importOnePrivate(key: unknown, extractable: boolean): Promise<{ key: CryptoKey; jwk?: JWK }> {
  try {
    if (typeof key === "string" && !key.trim().startsWith("{")) {
      return { key: checkStrength(asCryptoKey(await importPKCS8(key.trim().replace(/\\n/g, "\n"), IFIX_ALG, { extractable }))) };
    }
    const jwk = (typeof key === "string" ? JSON.parse(key) : key) as JWK;
    if (!jwk || jwk.kty !== "RSA" || !jwk.d) throw new KeyFormatError("the JWK is not an RSA private key");
    return { key: checkStrength(asCryptoKey(await importJWK({ ...jwk, alg: IFIX_ALG }, IFIX_ALG, { extractable }))), jwk };
  } catch (err) {
    if (err instanceof KeyFormatError) throw err;
    throw new KeyFormatError("the signing key is not a PKCS#8 PEM or RSA JWK");
  }
}

/** IFIX_SIGNING_KEY: one key (PEM or JWK), or a JSON array of them during a rotation (the first signs). */
function signingKeyList(text: string): unknown[] {
  const t = text.trim();
  if (!t.startsWith("[")) return [t];
  let list: unknown;
  try {
    list = JSON.parse(t);
  } catch {
    throw new KeyFormatError("IFIX_SIGNING_KEY is not a JSON array of keys");
  }
  if (!Array.isArray(list) || list.length === 0) throw new KeyFormatError("IFIX_SIGNING_KEY lists no key");
  return list;
}

/** The gateway's signing key (the first of IFIX_SIGNING_KEY). */
export async function importSigningKey(text: string): Promise<CryptoKey> {
  return (await importOnePrivate(signingKeyList(text)[0], false)).key;
}

export interface SigningKeyEntry {
  privateKey: CryptoKey;
}

/** Every key of IFIX_SIGNING_KEY, in order; all must be valid (a typo is found before a rotation needs it). */
export async function importSigningKeys(text: string): Promise<SigningKeyEntry[]> {
  return Promise.all(signingKeyList(text).map(async (k) => ({ privateKey: (await importOnePrivate(k, false)).key })));
}

/**
 * The public halves of IFIX_SIGNING_KEY as a JWK set: `kid` is the JWK's own when it has one, else
 * its RFC 7638 thumbprint (stable for a key, whatever its encoding), `alg` RS256, `use` sig.
 */
export async function publicJwks(text: string): Promise<{ keys: Record<string, unknown>[] }> {
  const keys = await Promise.all(
    signingKeyList(text).map(async (k) => {
      const { key, jwk } = await importOnePrivate(k, true);
      const { n, e } = await exportJWK(key);
      const pub: JWK = { kty: "RSA", n, e };
      const kid = typeof jwk?.kid === "string" && jwk.kid ? jwk.kid : await calculateJwkThumbprint(pub, "sha256");
      return { kty: "RSA", kid, use: "sig", alg: IFIX_ALG, n, e } as Record<string, unknown>;
    }),
  );
  return { keys };
}

/** One trusted public key: SPKI PEM or a public JWK (object or JSON text). */
export async function importVerifyKey(key: unknown): Promise<CryptoKey> {
  try {
    if (typeof key === "string" && !key.trim().startsWith("{")) {
      return checkStrength(asCryptoKey(await importSPKI(key.trim().replace(/\\n/g, "\n"), IFIX_ALG)));
    }
    const jwk = (typeof key === "string" ? JSON.parse(key) : key) as JWK;
    if (!jwk || jwk.kty !== "RSA" || !jwk.n || !jwk.e) throw new KeyFormatError("not an RSA public JWK");
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
    return checkStrength(asCryptoKey(await importJWK({ ...pub, alg: IFIX_ALG }, IFIX_ALG)));
  } catch (err) {
    if (err instanceof KeyFormatError) throw err;
    throw new KeyFormatError("a trusted key is not an SPKI PEM or RSA public JWK");
  }
}

/** IFIX_TRUSTED_KEYS: `{ "<sender_id>": <key> | [<key>, …] }` → sender → keys. */
export async function importTrustedKeys(json: string): Promise<Map<string, CryptoKey[]>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new KeyFormatError("IFIX_TRUSTED_KEYS is not JSON");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new KeyFormatError("IFIX_TRUSTED_KEYS must be an object");
  const out = new Map<string, CryptoKey[]>();
  for (const [sender, value] of Object.entries(parsed as Record<string, unknown>)) {
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0) continue;
    out.set(sender, await Promise.all(list.map(importVerifyKey)));
  }
  return out;
}
