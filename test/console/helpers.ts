import { env, exports } from "cloudflare:workers";
import { createDb } from "../../src/storage/db";
import { claims } from "../../src/storage/schema/claims";
import { deadLetters } from "../../src/storage/schema/dead-letters";
import { upstreamCalls } from "../../src/storage/schema/upstream-calls";
import { sha256Hex } from "../../src/domain/security/crypto";

export const GATEWAY = "http://gateway.test";
export const db = () => createDb(env.DB);

export interface Page {
  status: number;
  headers: Headers;
  text: string;
}

/** A browser-like request to the console: cookie in, form body out. */
export async function browse(
  method: "GET" | "POST",
  path: string,
  opts: { cookie?: string; form?: Record<string, string>; origin?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Page> {
  const headers = new Headers(opts.headers);
  if (opts.cookie) headers.set("Cookie", opts.cookie);
  if (opts.origin) headers.set("Origin", opts.origin);
  let body = opts.body;
  if (opts.form) {
    body = new URLSearchParams(opts.form).toString();
    headers.set("Content-Type", "application/x-www-form-urlencoded");
  }
  const res = await exports.default.fetch(new Request(`${GATEWAY}${path}`, { method, headers, body, redirect: "manual" }));
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Signs in with the given form fields; returns the session cookie ("name=value") and the raw Set-Cookie. */
export async function signIn(form: Record<string, string>): Promise<{ res: Page; cookie: string | null; setCookie: string | null }> {
  const res = await browse("POST", "/console/sign-in", { form, origin: GATEWAY });
  const setCookie = res.headers.get("set-cookie");
  const m = setCookie ? /^(amrit_console=[^;]+)/.exec(setCookie) : null;
  return { res, cookie: m ? m[1] : null, setCookie };
}

export const signInAdmin = async () => {
  const r = await signIn({ key: env.ADMIN_API_KEY! });
  if (!r.cookie) throw new Error(`admin sign-in failed: ${r.res.status}`);
  return r.cookie;
};

/** The console_sessions row id behind a session cookie ("amrit_console=<token>"). */
export const sessionIdOf = async (cookie: string) => sha256Hex(`console-session:${cookie.split("=")[1]}`);

/** The CSRF token a signed-in page embeds in its forms. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error("no CSRF token on the page");
  return m[1];
}

export const now = () => new Date().toISOString();

export async function seedFailedClaim(opts: { failureCode?: string; ownerId?: string; period?: string; totalPaise?: number } = {}) {
  const id = crypto.randomUUID();
  const at = now();
  await db()
    .insert(claims)
    .values({
      id,
      ownerId: opts.ownerId ?? "admin",
      ashaId: `AS-ASHA-${id.slice(0, 8)}`,
      period: opts.period ?? "2026-01",
      status: "FAILED",
      schedule: "now",
      verifierEmployeeId: "34455",
      verifierName: "ASHA Supervisor",
      items: [{ code: "HBNC_VISIT", count: 3, amountPaise: 30_000 }],
      contentHash: "x".repeat(64),
      totalPaise: opts.totalPaise ?? 30_000,
      catalogueVersion: null,
      errors: [{ code: opts.failureCode ?? "DELIVERY_FAILED", message: "gave up" }],
      failureCode: opts.failureCode ?? "DELIVERY_FAILED",
      attempts: 3,
      cycleAttempts: 3,
      createdAt: at,
      updatedAt: at,
    })
    .run();
  return id;
}

export async function seedDeadLetter(body: Record<string, unknown>, opts: { queue?: string; reason?: string; subjectId?: string } = {}) {
  const id = `test:${crypto.randomUUID()}`;
  await db()
    .insert(deadLetters)
    .values({
      id,
      queue: opts.queue ?? "amrit-claims-delivery",
      kind: String(body.type ?? "unknown"),
      subjectId: opts.subjectId ?? ((body.claimId ?? body.messageId ?? null) as string | null),
      body,
      reason: opts.reason ?? "gave up after 3 attempts: 503",
      createdAt: now(),
    })
    .run();
  return id;
}

export async function seedCall(v: Partial<typeof upstreamCalls.$inferInsert> = {}) {
  await db()
    .insert(upstreamCalls)
    .values({
      at: now(),
      portal: "assam",
      operation: "submit",
      outcome: "ok",
      httpStatus: 202,
      durationMs: 40,
      attempt: 1,
      ...v,
    })
    .run();
}
