/**
 * Redaction for anything that may reach a log line, a ledger row or an error: secrets, tokens,
 * Aadhaar numbers, OTPs, PINs, passwords. Keys are matched by name; strings are scanned for
 * 12-digit Aadhaar-like numbers, bearer tokens and JWTs.
 */
const SENSITIVE_KEY =
  /(secret|password|passwd|pwd|token|authorization|api[-_]?key|otp|pin$|^pin|mpin|aadhaar|aadhar|uid|signature|cookie|private|credential|authcode|x-?auth)/i;

/**
 * Twelve digits, alone or in groups of four split by a space or hyphen, standing as a value of their
 * own: not touching a letter, digit or hyphen on either side. So a UUID whose middle groups are all
 * digits (6ba99536-4030-4896-9312-e59e02074a65), a 19-digit tracker or an id such as
 * AS-ASHA-123456789012 is left whole (one request id in about 200 used to lose its middle).
 */
const AADHAAR = /(?<![A-Za-z0-9-])\d{4}[ -]?\d{4}[ -]?\d{4}(?![A-Za-z0-9-])/g;
const BEARER = /Bearer\s+[A-Za-z0-9\-._~+/]+=*/gi;
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

export const REDACTED = "[REDACTED]";

export function redactString(value: string): string {
  return value.replace(BEARER, "Bearer [REDACTED]").replace(JWT, REDACTED).replace(AADHAAR, "[AADHAAR]");
}

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

export function redact<T>(value: T, depth = 0): T {
  if (depth > 12) return REDACTED as unknown as T;
  if (typeof value === "string") return redactString(value) as unknown as T;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1)) as unknown as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = isSensitiveKey(k) && v !== null && v !== undefined && v !== "" ? REDACTED : redact(v, depth + 1);
    }
    return out as T;
  }
  return value;
}
