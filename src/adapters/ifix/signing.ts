import { canonicalize } from "./jcs";
import { fromBase64, toBase64 } from "../../domain/security/crypto";

export type SignatureScope = "header+message" | "message";
const ALG = { name: "RSASSA-PKCS1-v1_5" } as const;
const enc = new TextEncoder();

/** The signed bytes: UTF-8 of JCS(header) followed by JCS(message), or JCS(message) alone. */
export function signingInput(header: unknown, message: unknown, scope: SignatureScope = "header+message"): Uint8Array {
  return enc.encode(scope === "message" ? canonicalize(message) : canonicalize(header) + canonicalize(message));
}

/** base64 RSASSA-PKCS1-v1_5 SHA-256 signature (CONTRACT §7). */
export async function signEnvelope(key: CryptoKey, header: unknown, message: unknown, scope: SignatureScope = "header+message"): Promise<string> {
  const sig = await crypto.subtle.sign(ALG, key, signingInput(header, message, scope));
  return toBase64(sig);
}

/** True when the signature verifies under any of the keys. Never throws on a malformed signature. */
export async function verifyEnvelope(
  keys: readonly CryptoKey[],
  signature: string,
  header: unknown,
  message: unknown,
  scope: SignatureScope = "header+message",
): Promise<boolean> {
  if (typeof signature !== "string" || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(signature.trim())) return false;
  let sig: Uint8Array;
  let data: Uint8Array;
  try {
    sig = fromBase64(signature.trim());
    data = signingInput(header, message, scope);
  } catch {
    return false;
  }
  for (const key of keys) {
    try {
      if (await crypto.subtle.verify(ALG, key, sig, data)) return true;
    } catch {
      /* try the next key */
    }
  }
  return false;
}
