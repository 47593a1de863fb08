import { hmacSha256Hex, timingSafeEqual } from "../security/crypto";

/**
 * Claim webhooks are signed like this (documented for receivers):
 *
 *   X-Amrit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(CLAIMS_WEBHOOK_SECRET, "<t>.<raw body>")>
 *
 * The signed string is the timestamp, a dot, and the exact bytes of the request body (UTF-8). A
 * receiver recomputes the HMAC over the body it received, compares in constant time, and refuses a
 * `t` more than 5 minutes from its clock (replays). `X-Amrit-Delivery` (the payload's `id`) is the
 * same on every retry of one event: receivers deduplicate on it (delivery is at least once).
 */
export const WEBHOOK_SIGNATURE_HEADER = "X-Amrit-Signature";

export async function signWebhook(secret: string, body: string, unixSeconds: number): Promise<string> {
  return `t=${unixSeconds},v1=${await hmacSha256Hex(secret, `${unixSeconds}.${body}`)}`;
}

/** The receiver's check (used by tests and available to AMRIT-side code). */
export async function verifyWebhook(secret: string, body: string, header: string, nowSeconds: number, toleranceSeconds = 300): Promise<boolean> {
  const parts = Object.fromEntries(header.split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  return timingSafeEqual(await hmacSha256Hex(secret, `${t}.${body}`), parts.v1);
}
