import { Hono, type Context } from "hono";
import { DroppedConnection } from "../faults";
import { SAMPLE_ACTIVITY_CODES, SAMPLE_CATALOGUE } from "./sample-catalogue";

/**
 * The Assam ASHA Incentive Portal as seed 000 describes it:
 *   POST /auth/token              OAuth2 client credentials (form-encoded), expiring Bearer tokens
 *   POST /api/v1/submissions      202 first time, 200 same payload (recorded status), 409 different payload;
 *                                 Idempotency-Key must equal submission_id
 *   GET  /api/v1/submissions/{id} status: PENDING → ACCEPTED | REJECTED (errors [{code, message}])
 * Static `X-API-Key` mode works alongside (seed §2.2).
 *
 * Invented where the seed is silent (marked so): the 400/401/404 bodies, the receipt format beyond
 * the seed's one example, when PENDING turns into a decision (the 202 says PENDING; the decision
 * shows after `pendingPolls` status reads or `pendingMs`; `immediateDecision` puts it in the 202 as
 * the seed's example does), and the validation messages. Business validation (period, activity codes, counts,
 * ASHA ids) answers 202 PENDING and then REJECTED with errors, as the seed's §4.4 describes; with
 * `syncValidation` it answers 422 REJECTED at once instead.
 *
 * Inspection and control under /__sandbox/ (not subject to fault injection):
 *   GET  /__sandbox/stats                 totals: posts, creates, replays, conflicts, token issues
 *   POST /__sandbox/counts {ids}          per submission id: posts, creates, replays, conflicts, polls
 *   GET  /__sandbox/submissions/{id}      the stored submission, its counts and the SHA-256 of every raw POST body
 *   PUT  /__sandbox/script                scripted answers (see ScriptedAnswer), appended; DELETE clears them
 *   GET  /__sandbox/requests?since=<ms>   arrival times of portal requests, with path and Idempotency-Key (pace checks)
 *   PUT  /__sandbox/config                runtime options (see AssamRuntimeConfig)
 *   POST /__sandbox/tokens/expire         every issued token expires now (401 from then on)
 *   POST /__sandbox/reset                 forget everything, back to the start-up options
 *   POST /__sandbox/webhook               a receiver for the gateway's claim webhooks (records them)
 *   GET  /__sandbox/webhooks              what the receiver got
 *   GET  /__sandbox/catalogue             the sample catalogue, as a PUT /v1/admin/catalogue body
 */
export interface AssamSandboxOptions {
  clientId?: string;
  clientSecret?: string;
  /** Static keys accepted in `X-API-Key` (seed §2.2). */
  apiKeys?: string[];
  /** Lifetime of issued tokens, seconds (seed example: 3600). */
  tokenTtlSeconds?: number;
  /** The 202 already carries the decision (ACCEPTED/REJECTED, as in the seed's §3.5 example). */
  immediateDecision?: boolean;
  /** Status reads answered PENDING before the decision shows (0: the first read shows it). */
  pendingPolls?: number;
  /** Or: milliseconds after receipt when the decision shows (whichever comes first). */
  pendingMs?: number;
  /** Answer business-validation failures with 422 REJECTED at once instead of 202 then REJECTED. */
  syncValidation?: boolean;
  /** ASHA ids the portal recognises (seed open item 4: the format is not confirmed yet). */
  ashaIdPattern?: string;
  /** ASHA ids that match the pattern but are not registered. */
  unknownAshaIds?: string[];
  /** Webhook receiver: answer 503 to this many deliveries first (to exercise retries). */
  webhookFailFirst?: number;
}

export type AssamRuntimeConfig = Omit<AssamSandboxOptions, "clientId" | "clientSecret">;

/**
 * A scripted answer (test control, not in the seed): the next matching request(s) get `status` (with
 * `retryAfter` and `body` when given) or a dropped connection. With `afterRecord` a submission is
 * first recorded as the portal would record it, then answered so: the portal has the claim while the
 * caller saw a failure (the ambiguous case). `ids` scopes it to some submission ids; `times` is how
 * many requests it answers (-1: until cleared).
 */
export interface ScriptedAnswer {
  on: "submit" | "status" | "token";
  ids?: string[];
  status?: number;
  drop?: boolean;
  afterRecord?: boolean;
  retryAfter?: string;
  body?: unknown;
  times?: number;
}

const DEFAULTS: Required<AssamRuntimeConfig> = {
  apiKeys: [],
  tokenTtlSeconds: 3600,
  immediateDecision: false,
  pendingPolls: 0,
  pendingMs: 0,
  syncValidation: false,
  ashaIdPattern: "^AS-ASHA-\\d{6}$",
  unknownAshaIds: [],
  webhookFailFirst: 0,
};

type Decision = { status: "ACCEPTED" | "REJECTED"; errors: { code: string; message: string }[] };

interface Submission {
  id: string;
  canonical: string;
  payload: unknown;
  /** The first raw body's SHA-256 (hex), as received. */
  bodySha256: string;
  receipt: string;
  receivedAt: number;
  polls: number;
  decision: Decision;
  decided: boolean;
}

interface Counts {
  posts: number;
  creates: number;
  replays: number;
  conflicts: number;
  polls: number;
}

const sha256Hex = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, "0")).join("");

interface ReceivedWebhook {
  at: number;
  headers: Record<string, string>;
  body: string;
  answered: number;
}

/** JSON with object keys sorted: "same payload" regardless of key order or whitespace. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const IST_OFFSET_MS = 330 * 60_000;

const lastDayOfMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

export function createAssamSandbox(opts: AssamSandboxOptions = {}) {
  const initial: Required<AssamRuntimeConfig> = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => v !== undefined && k !== "clientId" && k !== "clientSecret")),
  } as Required<AssamRuntimeConfig>;
  let config = { ...initial };
  const tokens = new Map<string, number>();
  const submissions = new Map<string, Submission>();
  const counts = new Map<string, Counts>();
  const requestTimes: { at: number; path: string; key: string | null }[] = [];
  /** Per submission id: arrival time and SHA-256 of every raw POST body (byte-for-byte checks). */
  const rawPosts = new Map<string, { at: number; sha256: string }[]>();
  let script: ScriptedAnswer[] = [];
  const webhooks: ReceivedWebhook[] = [];
  let tokenIssues = 0;
  let receiptSeq = 0;
  let webhookFailuresLeft = config.webhookFailFirst;

  const countsOf = (id: string) => {
    let c = counts.get(id);
    if (!c) counts.set(id, (c = { posts: 0, creates: 0, replays: 0, conflicts: 0, polls: 0 }));
    return c;
  };

  const reset = () => {
    config = { ...initial };
    tokens.clear();
    submissions.clear();
    counts.clear();
    rawPosts.clear();
    script = [];
    requestTimes.length = 0;
    webhooks.length = 0;
    tokenIssues = 0;
    receiptSeq = 0;
    webhookFailuresLeft = config.webhookFailFirst;
  };

  /** The scripted answer for this request, consumed; null when none applies. */
  const scripted = (on: ScriptedAnswer["on"], id: string | null): ScriptedAnswer | null => {
    const i = script.findIndex((a) => a.on === on && (!a.ids || (id !== null && a.ids.includes(id))));
    if (i < 0) return null;
    const a = script[i];
    if (a.times !== -1) {
      const left = (a.times ?? 1) - 1;
      if (left <= 0) script.splice(i, 1);
      else script[i] = { ...a, times: left };
    }
    return a;
  };
  const answerScripted = (c: Context, a: ScriptedAnswer) => {
    if (a.drop) throw new DroppedConnection();
    const headers: Record<string, string> = a.retryAfter ? { "Retry-After": a.retryAfter } : {};
    const status = (a.status ?? 500) as 500;
    if (a.body === undefined) return c.text(status >= 500 ? "Internal Server Error" : "Refused", status, headers);
    return c.json(a.body as object, status, headers);
  };

  const app = new Hono();
  // A scripted dropped connection must reach the host as a thrown error, not a 500.
  app.onError((err, c) => {
    if (err instanceof DroppedConnection) throw err;
    return c.text("Internal Server Error", 500);
  });

  // Arrival time of every portal request (not inspection routes), for pace checks.
  app.use("*", async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (!path.startsWith("/__sandbox/")) {
      // The Idempotency-Key (a submission's id) lets a test count only the requests of its own claims.
      requestTimes.push({ at: Date.now(), path, key: c.req.header("idempotency-key") ?? null });
      if (requestTimes.length > 20_000) requestTimes.splice(0, requestTimes.length - 20_000);
    }
    await next();
  });

  // ---- §2.1 OAuth2 client credentials ----
  app.post("/auth/token", async (c) => {
    const forced = scripted("token", null);
    if (forced) return answerScripted(c, forced);
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") {
      return c.json({ error: "invalid_request", error_description: "use application/x-www-form-urlencoded" }, 400);
    }
    const form = new URLSearchParams(await c.req.text());
    if (form.get("grant_type") !== "client_credentials") return c.json({ error: "unsupported_grant_type" }, 400);
    if (!opts.clientId || form.get("client_id") !== opts.clientId || form.get("client_secret") !== opts.clientSecret) {
      return c.json({ error: "invalid_client" }, 401);
    }
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    const token = `sbx-assam.${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    tokens.set(token, Date.now() + config.tokenTtlSeconds * 1000);
    tokenIssues++;
    return c.json({ access_token: token, token_type: "Bearer", expires_in: config.tokenTtlSeconds });
  });

  /** Bearer token (unexpired) or a static key; null when the caller may pass. */
  const authFailure = (c: Context) => {
    const key = c.req.header("x-api-key");
    if (key && config.apiKeys.includes(key)) return null;
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    if (m) {
      const exp = tokens.get(m[1]);
      if (exp !== undefined && exp > Date.now()) return null;
      return c.json({ error: "invalid_token", error_description: exp === undefined ? "unknown token" : "token expired" }, 401);
    }
    return c.json({ error: "unauthorized", error_description: "send Authorization: Bearer <token> or X-API-Key" }, 401);
  };

  /** Business validation (seed §3.4, §4.4): the errors a REJECTED submission carries. */
  const validate = (body: Record<string, any>): { code: string; message: string }[] => {
    const errors: { code: string; message: string }[] = [];
    const start = DATE.exec(body.period.start);
    const end = DATE.exec(body.period.end);
    if (!start || !end) {
      errors.push({ code: "INVALID_PERIOD", message: "period.start and period.end must be dates (YYYY-MM-DD)" });
    } else {
      const [y, m] = [Number(start[1]), Number(start[2])];
      const okStart = start[3] === "01" && m >= 1 && m <= 12;
      const okEnd = end[1] === start[1] && end[2] === start[2] && Number(end[3]) === lastDayOfMonth(y, m);
      if (!okStart || !okEnd) {
        errors.push({ code: "INVALID_PERIOD", message: "the period must run from the first to the last day of one month" });
      } else {
        const istNow = new Date(Date.now() + IST_OFFSET_MS);
        const current = istNow.getUTCFullYear() * 12 + istNow.getUTCMonth();
        if (y * 12 + (m - 1) >= current) errors.push({ code: "PERIOD_NOT_ENDED", message: "claims are taken only for months that have ended" });
      }
    }
    const pattern = new RegExp(config.ashaIdPattern);
    if (!pattern.test(body.asha_id) || config.unknownAshaIds.includes(body.asha_id)) {
      errors.push({ code: "UNKNOWN_ASHA", message: `ASHA id ${body.asha_id} is not registered in the State Portal` });
    }
    for (const item of body.items as Record<string, any>[]) {
      if (!SAMPLE_ACTIVITY_CODES.has(item.activity_code)) {
        errors.push({ code: "INVALID_ACTIVITY_CODE", message: `activity code ${item.activity_code} is not in the State catalogue` });
      }
      if (!(item.count > 0)) errors.push({ code: "INVALID_COUNT", message: `count for ${item.activity_code} must be greater than 0` });
    }
    if ((body.items as unknown[]).length === 0) errors.push({ code: "NO_ITEMS", message: "a submission needs at least one item" });
    return errors;
  };

  /** Structural check (invented 400 body): the fields of seed §3.4 with their types. */
  const structuralErrors = (body: unknown): { code: string; message: string }[] => {
    const errs: { code: string; message: string }[] = [];
    const b = body as Record<string, any>;
    if (!b || typeof b !== "object" || Array.isArray(b)) return [{ code: "INVALID_BODY", message: "the body must be a JSON object" }];
    const str = (v: unknown) => typeof v === "string" && v.length > 0;
    if (!str(b.submission_id) || !UUID.test(b.submission_id)) errs.push({ code: "INVALID_FIELD", message: "submission_id must be a UUID" });
    if (!str(b.partner_code)) errs.push({ code: "INVALID_FIELD", message: "partner_code is required" });
    if (!b.period || typeof b.period !== "object" || !str(b.period.start) || !str(b.period.end)) {
      errs.push({ code: "INVALID_FIELD", message: "period.start and period.end are required" });
    }
    if (!str(b.asha_id)) errs.push({ code: "INVALID_FIELD", message: "asha_id is required" });
    if (!str(b.generated_at) || Number.isNaN(Date.parse(b.generated_at)))
      errs.push({ code: "INVALID_FIELD", message: "generated_at must be ISO 8601" });
    if (!b.verified_by || typeof b.verified_by !== "object" || !str(b.verified_by.employee_id) || !str(b.verified_by.name)) {
      errs.push({ code: "INVALID_FIELD", message: "verified_by.employee_id and verified_by.name are required" });
    }
    if (!Array.isArray(b.items)) errs.push({ code: "INVALID_FIELD", message: "items must be an array" });
    else {
      b.items.forEach((it: any, i: number) => {
        if (
          !it ||
          typeof it !== "object" ||
          !str(it.activity_code) ||
          !Number.isInteger(it.count) ||
          !Number.isInteger(it.incentive_amount) ||
          it.incentive_amount < 0
        ) {
          errs.push({ code: "INVALID_FIELD", message: `items[${i}] needs activity_code, an integer count and an integer incentive_amount` });
        }
      });
    }
    return errs;
  };

  const view = (s: Submission) => {
    const decided = s.decided || (config.pendingMs > 0 && Date.now() - s.receivedAt >= config.pendingMs);
    if (decided) s.decided = true;
    return decided
      ? { submission_id: s.id, status: s.decision.status, receipt: s.receipt, errors: s.decision.errors }
      : { submission_id: s.id, status: "PENDING" as const, receipt: s.receipt, errors: [] };
  };

  // ---- §3 Submit incentive claim ----
  app.post("/api/v1/submissions", async (c) => {
    const denied = authFailure(c);
    if (denied) return denied;
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/json") return c.json({ errors: [{ code: "UNSUPPORTED_MEDIA_TYPE", message: "send application/json" }] }, 415);
    let body: unknown;
    const raw = await c.req.text();
    try {
      body = JSON.parse(raw);
    } catch {
      return c.json({ errors: [{ code: "MALFORMED_JSON", message: "the body is not JSON" }] }, 400);
    }
    const structural = structuralErrors(body);
    if (structural.length) return c.json({ status: "REJECTED", errors: structural }, 400);
    const b = body as Record<string, any>;
    const id = String(b.submission_id);
    const rawSha256 = await sha256Hex(raw);
    const posts = rawPosts.get(id) ?? [];
    posts.push({ at: Date.now(), sha256: rawSha256 });
    rawPosts.set(id, posts);
    const forced = scripted("submit", id);
    if (forced && !forced.afterRecord) return answerScripted(c, forced);
    const cnt = countsOf(id);
    cnt.posts++;
    if (c.req.header("idempotency-key") !== id) {
      return c.json(
        {
          submission_id: id,
          status: "REJECTED",
          errors: [{ code: "IDEMPOTENCY_KEY_MISMATCH", message: "Idempotency-Key must equal submission_id" }],
        },
        400,
      );
    }
    const canonical = canonicalJson(b);
    const existing = submissions.get(id);
    if (existing) {
      if (existing.canonical !== canonical) {
        cnt.conflicts++;
        return c.json(
          { submission_id: id, errors: [{ code: "DUPLICATE_SUBMISSION", message: "submission_id already used with a different payload" }] },
          409,
        );
      }
      cnt.replays++;
      if (forced) return answerScripted(c, forced);
      return c.json(view(existing), 200);
    }
    const errors = validate(b);
    const endDate = DATE.test(b.period.end) ? b.period.end : new Date().toISOString().slice(0, 10);
    const sub: Submission = {
      id,
      canonical,
      payload: b,
      bodySha256: rawSha256,
      receipt: `REQ-${endDate}-${String(++receiptSeq).padStart(3, "0")}`,
      receivedAt: Date.now(),
      polls: 0,
      decision: errors.length ? { status: "REJECTED", errors } : { status: "ACCEPTED", errors: [] },
      decided: config.immediateDecision,
    };
    submissions.set(id, sub);
    cnt.creates++;
    if (forced) return answerScripted(c, forced);
    if (errors.length && config.syncValidation) {
      sub.decided = true;
      return c.json(view(sub), 422);
    }
    return c.json(view(sub), 202);
  });

  // ---- §4 Submission status ----
  app.get("/api/v1/submissions/:id", (c) => {
    const denied = authFailure(c);
    if (denied) return denied;
    const id = c.req.param("id");
    const forced = scripted("status", id);
    if (forced) return answerScripted(c, forced);
    const sub = submissions.get(id);
    if (!sub) return c.json({ errors: [{ code: "NOT_FOUND", message: "no such submission" }] }, 404);
    countsOf(id).polls++;
    if (!sub.decided && sub.polls >= config.pendingPolls) sub.decided = true;
    sub.polls++;
    return c.json(view(sub), 200);
  });

  // ---- inspection and control ----
  app.get("/__sandbox/stats", (c) => {
    let posts = 0,
      creates = 0,
      replays = 0,
      conflicts = 0,
      polls = 0;
    for (const x of counts.values()) {
      posts += x.posts;
      creates += x.creates;
      replays += x.replays;
      conflicts += x.conflicts;
      polls += x.polls;
    }
    return c.json({ submissions: submissions.size, posts, creates, replays, conflicts, polls, tokenIssues, liveTokens: tokens.size, config });
  });
  app.post("/__sandbox/counts", async (c) => {
    const { ids } = (await c.req.json()) as { ids: string[] };
    return c.json(
      Object.fromEntries(
        ids.map((id) => {
          const s = submissions.get(id);
          return [
            id,
            {
              ...(counts.get(id) ?? { posts: 0, creates: 0, replays: 0, conflicts: 0, polls: 0 }),
              status: s ? (s.decided ? s.decision.status : "PENDING") : null,
            },
          ];
        }),
      ),
    );
  });
  app.get("/__sandbox/submissions/:id", (c) => {
    const s = submissions.get(c.req.param("id"));
    if (!s) return c.json({ error: "unknown submission" }, 404);
    return c.json({
      payload: s.payload,
      bodySha256: s.bodySha256,
      posts: rawPosts.get(s.id) ?? [],
      receipt: s.receipt,
      decision: s.decision,
      decided: s.decided,
      counts: counts.get(s.id),
    });
  });
  // Raw POSTs for any id, recorded or not (a refused or dropped POST never creates a submission).
  app.get("/__sandbox/posts/:id", (c) => c.json({ posts: rawPosts.get(c.req.param("id")) ?? [] }));
  app.put("/__sandbox/script", async (c) => {
    const answers = (await c.req.json()) as ScriptedAnswer[];
    script.push(...answers);
    return c.json({ script });
  });
  app.delete("/__sandbox/script", (c) => {
    script = [];
    return c.body(null, 204);
  });
  app.get("/__sandbox/requests", (c) => {
    const since = Number(c.req.query("since") ?? "0");
    return c.json({ requests: requestTimes.filter((r) => r.at >= since) });
  });
  app.put("/__sandbox/config", async (c) => {
    const patch = (await c.req.json()) as AssamRuntimeConfig;
    config = { ...config, ...patch };
    if (patch.webhookFailFirst !== undefined) webhookFailuresLeft = patch.webhookFailFirst;
    return c.json(config);
  });
  app.post("/__sandbox/tokens/expire", (c) => {
    for (const t of tokens.keys()) tokens.set(t, 0);
    return c.json({ expired: tokens.size });
  });
  app.post("/__sandbox/reset", (c) => {
    reset();
    return c.body(null, 204);
  });
  app.post("/__sandbox/webhook", async (c) => {
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((v, k) => (headers[k] = v));
    const body = await c.req.text();
    const failing = webhookFailuresLeft > 0;
    if (failing) webhookFailuresLeft--;
    webhooks.push({ at: Date.now(), headers, body, answered: failing ? 503 : 204 });
    return failing ? c.text("Service Unavailable", 503) : c.body(null, 204);
  });
  app.get("/__sandbox/webhooks", (c) => c.json({ webhooks }));
  // The portal's own (sample) catalogue in the PUT /v1/admin/catalogue body shape: `npm start` loads it.
  app.get("/__sandbox/catalogue", (c) => c.json(SAMPLE_CATALOGUE));

  return {
    app,
    reset,
    stats: () => ({ submissions: submissions.size, tokenIssues }),
  };
}
