import { env, exports } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import worker, { app } from "../../src/index";
import { createDb } from "../../src/storage/db";
import { claims } from "../../src/storage/schema/claims";
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
      // Gave up after ambiguous attempts: the portal may have it, so the claim keeps its month
      // (CONTRACT v3 §5); a portal 409 is a definite answer and frees it.
      holdsMonth: (opts.failureCode ?? "DELIVERY_FAILED") === "DELIVERY_FAILED",
      maybeRecorded: (opts.failureCode ?? "DELIVERY_FAILED") === "DELIVERY_FAILED",
      attempts: 3,
      cycleAttempts: 3,
      createdAt: at,
      updatedAt: at,
    })
    .run();
  return id;
}

/**
 * A dead letter recorded the way production records one: the message a consumer that gave up sends
 * to the dead-letter queue ({queue, reason, body, deadLetterId}), handed to the Worker's own queue
 * handler as a batch of `amrit-dead-letters`. Returns the dead letter's id once the batch is acked.
 */
export async function seedDeadLetter(body: Record<string, unknown>, opts: { queue?: string; reason?: string } = {}) {
  const deadLetterId = `test:${crypto.randomUUID()}`;
  const message = { queue: opts.queue ?? "amrit-claims-delivery", reason: opts.reason ?? "gave up after 3 attempts: 503", body, deadLetterId };
  const batch = createMessageBatch("amrit-dead-letters", [{ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body: message }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  if (result.explicitAcks.length !== 1) throw new Error(`the dead-letter consumer did not ack: ${JSON.stringify(result)}`);
  return deadLetterId;
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

/** The Access application tag the tests configure, and the people CONSOLE_ROLES names. */
export const ACCESS_AUD = "aud-console-tests-4f1c2d";
export const ROLES = {
  "viewer@amrit.test": "viewer",
  "operator@amrit.test": "operator",
  "admin@amrit.test": "admin",
  "*@district.example.org": "viewer",
  "lead@district.example.org": "operator",
} as const;

/**
 * The Worker's env with Cloudflare Access configured against the sandbox's stand-in
 * (`<sandbox>/access`). ENVIRONMENT=development lets the team domain be plain HTTP, as locally.
 */
export const accessEnv = (vars: Record<string, string | undefined> = {}) =>
  ({
    ...env,
    ENVIRONMENT: "development",
    CF_ACCESS_TEAM_DOMAIN: `${env.TEST_SANDBOX_URL}/access`,
    CF_ACCESS_AUD: ACCESS_AUD,
    CONSOLE_ROLES: JSON.stringify(ROLES),
    ...vars,
  }) as typeof env;

/** An application token for `email`, signed by the Access stand-in (as Access would sign it). */
export async function assertionFor(
  email: string,
  claims: { aud?: string; ttlSeconds?: number; issuer?: string; iat?: number } = {},
): Promise<string> {
  const res = await fetch(`${env.TEST_SANDBOX_URL}/access/__sandbox/assertion`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, aud: claims.aud ?? ACCESS_AUD, ...claims }),
  });
  if (!res.ok) throw new Error(`assertion: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/**
 * A browser-like request to the console under `e` (an Access env), carrying the assertion in the
 * header Access sets (or, with `viaCookie`, in the CF_Authorization cookie). Work the request defers
 * (waitUntil) is finished before it answers.
 */
export async function browseAs(
  e: typeof env,
  assertion: string | null,
  method: "GET" | "POST",
  path: string,
  opts: { form?: Record<string, string>; cookie?: string; viaCookie?: boolean; origin?: string } = {},
): Promise<Page> {
  const headers = new Headers();
  const cookies: string[] = [];
  if (opts.cookie) cookies.push(opts.cookie);
  if (assertion && opts.viaCookie) cookies.push(`CF_Authorization=${assertion}`);
  else if (assertion) headers.set("Cf-Access-Jwt-Assertion", assertion);
  if (cookies.length) headers.set("Cookie", cookies.join("; "));
  if (opts.origin) headers.set("Origin", opts.origin);
  let body: string | undefined;
  if (opts.form) {
    body = new URLSearchParams(opts.form).toString();
    headers.set("Content-Type", "application/x-www-form-urlencoded");
  }
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${GATEWAY}${path}`, { method, headers, body, redirect: "manual" }), e, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, headers: res.headers, text };
}
