import { fromBase64, randomToken, toBase64Url, toHex } from "../security/crypto";

/**
 * A piId names the account object that holds it: "pi_" + the object id (32 bytes, base64url, 43
 * characters) + 12 random characters. So reading or moving a PI goes straight to its account's
 * Durable Object, with no D1 lookup (D1 is only a projection, and may lag a PI just created).
 * A forged id fails `idFromString`, or reaches an object that does not hold it: 404 either way.
 * PIs made before this scheme ("pi_" + 20 characters) are found through their D1 row.
 */
const ID_CHARS = 43;
const PI_ID = /^pi_([A-Za-z0-9_-]{43})([A-Za-z0-9_-]{12})$/;

const unhex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

/** The random tail of a PI id, fixed per request: the id on each candidate account differs only in its head. */
export const newPiSuffix = () => randomToken(9);

export function piIdFor(accountIdHex: string, suffix: string): string {
  if (!/^[0-9a-f]{64}$/.test(accountIdHex)) throw new RangeError("not a Durable Object id");
  if (!/^[A-Za-z0-9_-]{12}$/.test(suffix)) throw new RangeError("not a PI suffix");
  return `pi_${toBase64Url(unhex(accountIdHex))}${suffix}`;
}

/** The account object id (hex) a piId names, or null for a legacy or malformed id. */
export function accountIdOfPi(piId: string): string | null {
  const m = PI_ID.exec(piId);
  if (!m) return null;
  try {
    const bytes = fromBase64(m[1]);
    return bytes.byteLength === 32 ? toHex(bytes) : null;
  } catch {
    return null;
  }
}

export const PI_ID_LENGTH = 3 + ID_CHARS + 12;
