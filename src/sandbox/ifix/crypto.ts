/**
 * The sandbox's own canonicalisation and signatures, written from seed 002 and RFC 8785 (not the
 * gateway's code: a simulator sharing the gateway's signer could not catch the gateway's mistakes).
 * Web APIs only: it runs in Node (tests) and in workerd (npm start).
 */

/** RFC 8785 JCS: sorted keys (UTF-16 code units), no whitespace, ECMAScript number and string forms. */
export function jcs(v: unknown): string {
  if (v === null || typeof v === "boolean") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error("JCS: not a finite number");
    return JSON.stringify(v);
  }
  if (typeof v === "string") {
    if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v)) throw new Error("JCS: lone surrogate");
    // JSON.stringify escapes exactly what RFC 8785 §3.2.2.2 asks (controls in lowercase \u00xx).
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => jcs(x === undefined ? null : x)).join(",")}]`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${jcs(k)}:${jcs(o[k])}`).join(",")}}`;
  }
  throw new Error(`JCS: cannot canonicalise a ${typeof v}`);
}

const enc = new TextEncoder();
const ALG = { name: "RSASSA-PKCS1-v1_5" } as const;

export type Scope = "header+message" | "message";

const signedBytes = (header: unknown, message: unknown, scope: Scope) => enc.encode(scope === "message" ? jcs(message) : jcs(header) + jcs(message));

export function b64(bytes: ArrayBuffer | Uint8Array): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

function unb64(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
  try {
    const bin = atob(s);
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

export async function sign(key: CryptoKey, header: unknown, message: unknown, scope: Scope): Promise<string> {
  return b64(await crypto.subtle.sign(ALG, key, signedBytes(header, message, scope)));
}

export async function verify(keys: CryptoKey[], signature: string, header: unknown, message: unknown, scope: Scope): Promise<boolean> {
  const sig = unb64(signature);
  if (!sig) return false;
  let data: Uint8Array;
  try {
    data = signedBytes(header, message, scope);
  } catch {
    return false;
  }
  for (const k of keys) {
    try {
      if (await crypto.subtle.verify(ALG, k, sig, data)) return true;
    } catch {
      /* next key */
    }
  }
  return false;
}

export async function sha256(text: string): Promise<string> {
  return b64(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

const pemBody = (pem: string) =>
  unb64(
    pem
      .replace(/-----[^-]+-----/g, "")
      .replace(/\\n/g, "")
      .replace(/\s+/g, ""),
  );

export async function importPrivatePem(pem: string): Promise<CryptoKey> {
  const der = pemBody(pem);
  if (!der) throw new Error("not a PEM private key");
  return crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
}

export async function importPublicPem(pem: string): Promise<CryptoKey> {
  const der = pemBody(pem);
  if (!der) throw new Error("not a PEM public key");
  return crypto.subtle.importKey("spki", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
}
