import type { Context } from "hono";
import type { AppEnv } from "../context";
import { signingKeys } from "./auth";
import { fromBase64, toBase64Url } from "../../domain/security/crypto";

/**
 * D1 session bookmarks handed to callers are signed (HMAC-SHA256 under the first caller-token key,
 * truncated to 128 bits), so a caller can only hand back a bookmark the gateway gave out: a made-up
 * bookmark "from the future" could make a replica wait for a state that never comes. An unsigned,
 * forged or stale-key bookmark is ignored (the read starts as if none had been sent).
 */
const SHAPE = /^([0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32})\.([A-Za-z0-9_-]{22})$/;
const keys = new WeakMap<object, Promise<CryptoKey>>();

function macKey(c: Context<AppEnv>): Promise<CryptoKey> | null {
  let k = keys.get(c.env);
  if (!k) {
    let secret: Uint8Array;
    try {
      secret = signingKeys(c.env)[0].secret;
    } catch {
      return null; // auth not configured: no bookmarks, reads still work
    }
    k = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(c.env, k);
  }
  return k;
}

async function mac(key: CryptoKey, bookmark: string): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`d1-bookmark:${bookmark}`));
  return toBase64Url(new Uint8Array(sig).slice(0, 16));
}

export async function issueBookmark(c: Context<AppEnv>, bookmark: string): Promise<string | null> {
  const key = macKey(c);
  if (!key || !/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/.test(bookmark)) return null;
  return `${bookmark}.${await mac(await key, bookmark)}`;
}

/** The bookmark the caller sent back, when it is one the gateway signed; else null. */
export async function readBookmark(c: Context<AppEnv>): Promise<string | null> {
  const sent = c.req.header("x-d1-bookmark");
  if (!sent) return null;
  const m = SHAPE.exec(sent.trim());
  const key = m && macKey(c);
  if (!m || !key) return null;
  const expected = fromBase64(await mac(await key, m[1]));
  const got = fromBase64(m[2]);
  let diff = expected.length ^ got.length;
  for (let i = 0; i < expected.length; i++) diff |= expected[i] ^ (got[i] ?? 0);
  return diff === 0 ? m[1] : null;
}

// The last bookmark each caller's writes produced in this isolate, so its next read here sees them
// even without the header. Bounded; the oldest go first.
const MAX = 10_000;
const latest = new Map<string, string>();

export function rememberBookmark(callerId: string, bookmark: string) {
  latest.delete(callerId);
  latest.set(callerId, bookmark);
  if (latest.size > MAX) latest.delete(latest.keys().next().value as string);
}

export const rememberedBookmark = (callerId: string): string | undefined => latest.get(callerId);
