import type { Env } from "../../env";
import { fromBase64, toBase64 } from "../security/crypto";
import { getDataKey } from "../../adapters/ifix/config";

/**
 * AES-GCM for personal data at rest (beneficiaries, signed wire bodies naming individuals).
 * Stored as "v1." + base64(iv ‖ ciphertext); `aad` binds a value to its row, so a ciphertext
 * copied onto another row does not decrypt.
 */
export async function sealText(env: Env, plain: string, aad: string): Promise<string> {
  const key = await getDataKey(env);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(aad) }, key, new TextEncoder().encode(plain)),
  );
  const out = new Uint8Array(iv.length + ct.length);
  out.set(iv);
  out.set(ct, iv.length);
  return `v1.${toBase64(out)}`;
}

export async function openText(env: Env, sealed: string, aad: string): Promise<string> {
  if (!sealed.startsWith("v1.")) throw new Error("unknown sealed format");
  const key = await getDataKey(env);
  const raw = fromBase64(sealed.slice(3));
  const pt = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: raw.slice(0, 12), additionalData: new TextEncoder().encode(aad) },
    key,
    raw.slice(12),
  );
  return new TextDecoder().decode(pt);
}
