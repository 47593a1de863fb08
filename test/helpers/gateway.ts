import { env, exports } from "cloudflare:workers";
import type { Scope } from "../../src/domain/security/scopes";

export const GATEWAY = "http://gateway.test";

export interface CallOptions {
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
  token?: string;
  apiKey?: string;
  admin?: boolean;
}

/** Calls the Worker under test through its real fetch handler. */
export async function call(method: string, path: string, opts: CallOptions = {}) {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set("Authorization", `Bearer ${opts.token}`);
  if (opts.apiKey) headers.set("X-API-Key", opts.apiKey);
  if (opts.admin) headers.set("X-API-Key", env.ADMIN_API_KEY!);
  // Failed credentials are limited per address (100 a minute). Requests without an address would all
  // share one bucket, and since the test files share one runtime, a file that tries many wrong keys
  // could leave the next file's callers refused: each request comes from an address of its own
  // unless the test names one (the limiter's own tests do).
  if (!headers.has("cf-connecting-ip")) headers.set("CF-Connecting-IP", `198.18.${(Math.random() * 256) | 0}.${(Math.random() * 256) | 0}`);
  let body: BodyInit | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    if (!headers.has("content-type")) headers.set("Content-Type", "application/json");
  }
  const res = await exports.default.fetch(new Request(`${GATEWAY}${path}`, { method, headers, body }));
  const text = await res.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, json, text };
}

export interface TestClient {
  clientId: string;
  clientSecret: string;
  apiKey: string;
  scopes: string[];
  token: string;
}

/** Creates a client through the admin API and fetches a caller token for it. */
export async function createClient(scopes: Scope[], name = "test client"): Promise<TestClient> {
  const created = await call("POST", "/v1/admin/clients", { admin: true, body: { name, scopes } });
  if (created.status !== 201) throw new Error(`client creation failed: ${created.status} ${created.text}`);
  const token = await tokenFor(created.json.clientId, created.json.clientSecret);
  return { ...created.json, token };
}

export async function tokenFor(clientId: string, clientSecret: string): Promise<string> {
  const res = await call("POST", "/v1/auth/token", {
    rawBody: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }).toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  if (res.status !== 200) throw new Error(`token failed: ${res.status} ${res.text}`);
  return res.json.access_token;
}

/** Asserts the CONTRACT §3 error envelope and returns its error. */
export function expectError(res: { status: number; json: any; headers: Headers }, status: number, code: string) {
  if (res.status !== status || res.json?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.json)}`);
  }
  const e = res.json.error;
  if (typeof e.message !== "string" || !Array.isArray(e.details) || typeof e.requestId !== "string") {
    throw new Error(`not the error envelope: ${JSON.stringify(res.json)}`);
  }
  if (res.headers.get("x-request-id") !== e.requestId) throw new Error("X-Request-Id differs from error.requestId");
  return e;
}
