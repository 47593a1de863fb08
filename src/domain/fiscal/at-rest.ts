import type { Env } from "../../env";
import { fromBase64, toBase64 } from "../security/crypto";
import { getDataKeys } from "../../adapters/ifix/config";

/**
 * AES-GCM for personal data at rest (beneficiaries, messages naming individuals), under the
 * DATA_ENCRYPTION_KEY ring. Stored as "v2.<kid>.<base64(iv ‖ ciphertext)>": the value names the key
 * that sealed it, so a rotation keeps old rows readable. Today's "v1.<base64>" values (sealed with a
 * bare key, no kid) still open: every key of the ring is tried, and AES-GCM's tag tells the right one.
 * `aad` binds a value to its row, so a ciphertext copied onto another row does not decrypt.
 */
const enc = new TextEncoder();
const SEALED_V2 = /^v2\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9+/=]+)$/;

export async function sealText(env: Env, plain: string, aad: string): Promise<string> {
  const { primary } = await getDataKeys(env);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: enc.encode(aad) }, primary.key, enc.encode(plain)));
  const out = new Uint8Array(iv.length + ct.length);
  out.set(iv);
  out.set(ct, iv.length);
  return `v2.${primary.kid}.${toBase64(out)}`;
}

async function decryptWith(key: CryptoKey, raw: Uint8Array, aad: string): Promise<string> {
  const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: raw.slice(0, 12), additionalData: enc.encode(aad) }, key, raw.slice(12));
  return new TextDecoder().decode(pt);
}

export async function openText(env: Env, sealed: string, aad: string): Promise<string> {
  const { all } = await getDataKeys(env);
  const v2 = SEALED_V2.exec(sealed);
  if (v2) {
    const k = all.find((x) => x.kid === v2[1]);
    if (!k) throw new Error("sealed under a key that is not in the ring");
    return decryptWith(k.key, fromBase64(v2[2]), aad);
  }
  if (!sealed.startsWith("v1.")) throw new Error("unknown sealed format");
  const raw = fromBase64(sealed.slice(3));
  for (const k of all) {
    try {
      return await decryptWith(k.key, raw, aad);
    } catch {
      /* another key of the ring */
    }
  }
  throw new Error("no key of the ring opens this value");
}

/** The kid a sealed value names ("v1" values name none). */
export const sealedKid = (sealed: string): string | null => SEALED_V2.exec(sealed)?.[1] ?? null;

/** Whether a sealed value is under another key than the ring's first (a re-encryption sweep's work). */
export async function needsReseal(env: Env, sealed: string): Promise<boolean> {
  if (!sealed.startsWith("v1.") && !sealed.startsWith("v2.")) return false; // not sealed (e.g. purged)
  return sealedKid(sealed) !== (await getDataKeys(env)).primary.kid;
}

/** Opens a value and seals it again under the ring's first key (same aad). */
export async function reseal(env: Env, sealed: string, aad: string): Promise<string> {
  return sealText(env, await openText(env, sealed, aad), aad);
}

/** The SQL LIKE pattern of values sealed under the ring's first key (rows not matching need resealing). */
export async function currentSealPrefix(env: Env): Promise<string> {
  return `v2.${(await getDataKeys(env)).primary.kid}.`;
}
