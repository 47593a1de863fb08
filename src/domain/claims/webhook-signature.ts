import { timingSafeEqual } from "../security/crypto";

/**
 * Claim webhooks follow Standard Webhooks (https://www.standardwebhooks.com), so that receivers can
 * use its libraries:
 *
 *   webhook-id:        the event's id (the payload's `id`), the same on every retry: deduplicate on it
 *   webhook-timestamp: unix seconds when this attempt was sent
 *   webhook-signature: space-separated `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`
 *
 * The key is the base64 after `whsec_` in CLAIMS_WEBHOOK_SECRET. During a rotation the variable lists
 * several secrets, comma-separated: every request carries one signature per secret, so a receiver
 * holding either the old or the new one verifies it. A receiver also refuses a timestamp more than
 * five minutes from its clock (replays).
 */
export const WEBHOOK_HEADERS = { id: "webhook-id", timestamp: "webhook-timestamp", signature: "webhook-signature" } as const;

const SECRET_PREFIX = "whsec_";

function fromBase64(b64: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return null;
  try {
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

const toBase64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

/** One secret's key bytes (`whsec_<base64>`, the prefix optional as in the reference libraries); null when malformed or shorter than 16 bytes. */
export function webhookKey(secret: string): Uint8Array | null {
  const s = secret.trim();
  const key = fromBase64(s.startsWith(SECRET_PREFIX) ? s.slice(SECRET_PREFIX.length) : s);
  return key && key.length >= 16 ? key : null;
}

/** Every key of a comma-separated CLAIMS_WEBHOOK_SECRET; null when any of them is malformed. */
export function webhookKeys(secrets: string): Uint8Array[] | null {
  const parts = secrets
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const keys = parts.map(webhookKey);
  return keys.length && keys.every((k) => k !== null) ? (keys as Uint8Array[]) : null;
}

async function hmac(key: Uint8Array, content: string): Promise<string> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toBase64(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(content)));
}

/** The `webhook-signature` header value: one `v1,<sig>` per key, space-separated. */
export async function signWebhook(keys: Uint8Array[], id: string, timestampSeconds: number, body: string): Promise<string> {
  const content = `${id}.${timestampSeconds}.${body}`;
  return (await Promise.all(keys.map(async (k) => `v1,${await hmac(k, content)}`))).join(" ");
}

/**
 * The receiver's check (used by tests; AMRIT-side code may use it or any Standard Webhooks library):
 * true when one of the header's v1 signatures is the HMAC of this body under `secret` and the
 * timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export async function verifyWebhook(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): Promise<boolean> {
  const key = webhookKey(secret);
  const ts = Number(headers.timestamp);
  if (!key || !/^\d+$/.test(headers.timestamp) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = await hmac(key, `${headers.id}.${headers.timestamp}.${body}`);
  let ok = false;
  for (const part of headers.signature.split(" ")) {
    const [version, sig] = part.split(",", 2);
    if (version === "v1" && sig && timingSafeEqual(sig, expected)) ok = true;
  }
  return ok;
}
