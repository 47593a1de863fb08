import { SignJWT, jwtVerify, decodeProtectedHeader, errors as joseErrors } from "jose";
import { fromBase64 } from "./crypto";

/**
 * The gateway's own caller tokens: HS256 JWTs signed with JWT_SIGNING_KEY.
 *
 * JWT_SIGNING_KEY format: a comma-separated list of `kid:base64url-secret` (at least 32 bytes each).
 * The first entry signs; every entry verifies, so a key rotates by putting the new one first and
 * dropping the old one after the longest token lifetime (15 minutes).
 */
export const TOKEN_TTL_SECONDS = 900;
const ISSUER = "amrit-edge-gateway";
const AUDIENCE = "amrit-edge-gateway/v1";

export interface SigningKey {
  kid: string;
  secret: Uint8Array;
}

export function parseSigningKeys(value: string): SigningKey[] {
  const keys = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const i = entry.indexOf(":");
      if (i <= 0) throw new Error("JWT_SIGNING_KEY entries are kid:secret");
      const secret = fromBase64(entry.slice(i + 1));
      if (secret.byteLength < 32) throw new Error("JWT_SIGNING_KEY secrets must be at least 32 bytes");
      return { kid: entry.slice(0, i), secret };
    });
  if (keys.length === 0) throw new Error("JWT_SIGNING_KEY is empty");
  return keys;
}

export interface CallerClaims {
  clientId: string;
  scopes: string[];
  generation: number;
}

export async function issueCallerToken(keys: SigningKey[], claims: CallerClaims, nowSeconds = Math.floor(Date.now() / 1000)) {
  const key = keys[0];
  const token = await new SignJWT({ scope: claims.scopes.join(" "), gen: claims.generation })
    .setProtectedHeader({ alg: "HS256", kid: key.kid, typ: "JWT" })
    .setSubject(claims.clientId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + TOKEN_TTL_SECONDS)
    .setJti(crypto.randomUUID())
    .sign(await cryptoKeyOf(key));
  return { token, expiresIn: TOKEN_TTL_SECONDS };
}

// Tokens verified in this isolate, until they expire: a caller's next requests skip the HMAC (the
// client's liveness — revocation, rotation — is still checked on every request, by the directory).
const MAX_VERIFIED = 10_000;
const verified = new Map<string, { claims: CallerClaims; expMs: number; keys: SigningKey[] }>();

/** Verifies a caller token; null when it is malformed, expired, or signed by an unknown key. */
export async function verifyCallerToken(keys: SigningKey[], token: string): Promise<CallerClaims | null> {
  const hit = verified.get(token);
  if (hit) {
    if (hit.keys === keys && hit.expMs > Date.now()) return hit.claims;
    verified.delete(token);
  }
  try {
    const { kid, alg } = decodeProtectedHeader(token);
    if (alg !== "HS256") return null;
    const key = keys.find((k) => k.kid === kid);
    if (!key) return null;
    const { payload } = await jwtVerify(token, await cryptoKeyOf(key), { issuer: ISSUER, audience: AUDIENCE, algorithms: ["HS256"] });
    if (typeof payload.sub !== "string" || typeof payload.scope !== "string" || typeof payload.gen !== "number" || typeof payload.exp !== "number")
      return null;
    const claims = { clientId: payload.sub, scopes: payload.scope.split(" ").filter(Boolean), generation: payload.gen };
    verified.set(token, { claims, expMs: payload.exp * 1000, keys });
    if (verified.size > MAX_VERIFIED) verified.delete(verified.keys().next().value as string);
    return claims;
  } catch (err) {
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) return null;
    return null;
  }
}

// jose imports a raw secret on every call; the imported key is kept with its SigningKey instead.
const imported = new WeakMap<SigningKey, Promise<CryptoKey>>();
function cryptoKeyOf(key: SigningKey): Promise<CryptoKey> {
  let k = imported.get(key);
  if (!k) {
    k = crypto.subtle.importKey("raw", key.secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    imported.set(key, k);
  }
  return k;
}
