import { fromBase64 } from "../security/crypto";

/**
 * DATA_ENCRYPTION_KEY as a key ring (CONTRACT v3 §2): `kid:base64-32-bytes[,kid:base64-32-bytes…]`.
 * The first key encrypts; every key decrypts, so the key rotates without losing old rows. A bare
 * base64 key (today's format) is a ring of one key whose kid is "0".
 */
export interface RawDataKey {
  kid: string;
  raw: Uint8Array;
}

export const KID = /^[A-Za-z0-9_-]{1,32}$/;
/** The kid a bare (pre-ring) key gets. */
export const BARE_KID = "0";

export class KeyRingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyRingError";
  }
}

function key32(b64: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = fromBase64(b64.trim());
  } catch {
    throw new KeyRingError("a key is not base64");
  }
  if (raw.byteLength !== 32) throw new KeyRingError("a key is not 32 bytes");
  return raw;
}

/** Parses the ring's text; throws KeyRingError (without echoing any key) when malformed. */
export function parseKeyRing(text: string): RawDataKey[] {
  const t = text.trim();
  if (!t) throw new KeyRingError("empty");
  if (!t.includes(":")) return [{ kid: BARE_KID, raw: key32(t) }];
  const out: RawDataKey[] = [];
  for (const part of t.split(",")) {
    const i = part.indexOf(":");
    if (i < 0) throw new KeyRingError("every entry of a ring is kid:base64");
    const kid = part.slice(0, i).trim();
    if (!KID.test(kid)) throw new KeyRingError("a kid is 1 to 32 of letters, digits, _ and -");
    if (out.some((k) => k.kid === kid)) throw new KeyRingError("a kid appears twice");
    out.push({ kid, raw: key32(part.slice(i + 1)) });
  }
  return out;
}

/** True when the text is a well-formed ring (for the configuration check). */
export const isKeyRing = (text: string): boolean => {
  try {
    parseKeyRing(text);
    return true;
  } catch {
    return false;
  }
};
