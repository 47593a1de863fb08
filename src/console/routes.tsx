import { Hono, type Context } from "hono";
import type { Child } from "hono/jsx";
import { z } from "zod";
import { and, count, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import type { Router } from "../http/router";
import { GatewayError, statusOf } from "../http/errors";
import { ADMIN_PRINCIPAL, actorOf, clientPrincipal, type Principal } from "../http/context";
import { getAuthConfig } from "../env";
import { clients } from "../storage/schema/clients";
import { toRecord } from "../domain/clients";
import { auditLog } from "../storage/schema/audit-log";
import { alerts } from "../storage/schema/alerts";
import { deadLetters } from "../storage/schema/dead-letters";
import { claims } from "../storage/schema/claims";
import { auditInsert } from "../storage/audit";
import { sha256Hex, timingSafeEqual } from "../domain/security/crypto";
import { decodeCursor, encodeCursor } from "../http/pagination";
import { createLogger } from "../lib/logger";
import { Document, Layout } from "./layout";
import { checkCsrf, clearSession, issueSession, readSession, requireSession, sameOrigin, type ConsoleEnv } from "./session";
import {
  AlertsPage,
  AuditPage,
  BulkReplayConfirm,
  BulkReplayResult,
  DeadLetterDetail,
  DeadLettersPage,
  OverviewPage,
  PaymentsPage,
  ReconciliationPage,
  SignInPage,
  TransactionDetail,
  TransactionsPage,
} from "./pages";
import { claimsByPeriod, deadLetterCounts, fundsByHead, upstreamHealth } from "./ops/overview";
import { TransactionFilter, getTransaction, listTransactions } from "./ops/transactions";
import {
  DeadLetterFilter,
  countDeadLetters,
  displayBody,
  getDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  subjectStateOf,
  subjectStates,
} from "./ops/dead-letters";
import { claimsReconciliation, reconciliationCsv } from "./ops/reconciliation";
import { listPaymentsForOps, setPaymentStatusAsOperator } from "./ops/payments";
import { getAlertConfig } from "../cron/alerts.job";
import { PERIOD_RE, currentIstPeriod } from "../domain/claims/periods";

const PAGE = 50;
const BULK_REPLAY_MAX = 100;
const MAX_FORM_BYTES = 16 * 1024;

type C = Context<ConsoleEnv>;

/** Security headers for every console answer: nothing cached, framed, scripted or sent elsewhere. */
function hardenHeaders(c: C) {
  c.header("Cache-Control", "no-store");
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "same-origin");
  c.header(
    "Content-Security-Policy",
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
}

const page = (c: C, title: string, path: string, body: Child, status: 200 | 400 | 403 | 404 | 409 | 422 = 200) => {
  const s = c.get("session")!;
  return c.html(
    <Layout title={title} path={path} principal={s.principal} csrf={s.csrf}>
      {body}
    </Layout>,
    status,
  );
};

const errorPage = (c: C, status: number, message: string) =>
  c.html(
    <Document title="Error">
      <main>
        <h1>{status === 403 ? "Refused" : status === 404 ? "Not found" : "Something went wrong"}</h1>
        <p class="error">{message}</p>
        <p>
          <a href="/console">Back to the console</a>
        </p>
      </main>
    </Document>,
    status as 400,
  );

/** Form fields of a POST (urlencoded or multipart), size-limited. */
async function formOf(c: C): Promise<Record<string, string>> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_FORM_BYTES) throw new GatewayError("PAYLOAD_TOO_LARGE", "form too large");
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded" && type !== "multipart/form-data") {
    throw new GatewayError("UNSUPPORTED_MEDIA_TYPE", "send the form as a web form");
  }
  const text = await c.req.text();
  if (text.length > MAX_FORM_BYTES) throw new GatewayError("PAYLOAD_TOO_LARGE", "form too large");
  if (type === "multipart/form-data") {
    // A malformed multipart body (no boundary, broken parts) is the sender's error, not ours.
    const fd = await new Request("http://x", { method: "POST", headers: { "content-type": c.req.header("content-type")! }, body: text }).formData().catch(() => {
      throw new GatewayError("VALIDATION_FAILED", "the form could not be read");
    });
    const out: Record<string, string> = {};
    fd.forEach((v, k) => {
      if (typeof v === "string") out[k] = v;
    });
    return out;
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** A signed-in POST: form read, CSRF token checked (403 otherwise). */
async function protectedForm(c: C): Promise<Record<string, string>> {
  const form = await formOf(c);
  if (!(await checkCsrf(c, form))) throw new GatewayError("FORBIDDEN", "the form's CSRF token is missing or wrong: reload the page and try again");
  return form;
}

/** datetime-local inputs carry no offset: operators enter IST. */
const istInput = (v: string | undefined) => (v && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(v) ? `${v}${v.length === 16 ? ":00" : ""}+05:30` : v);

const pick = (q: Record<string, string>, keys: string[]) => {
  const out: Record<string, string> = {};
  for (const k of keys) if (q[k] !== undefined && q[k] !== "") out[k] = q[k];
  return out;
};

const zodMessage = (e: z.ZodError) => e.issues.map((i) => `${i.path.join(".") || "filter"}: ${i.message}`).join("; ");

type SignIn = { principal: Principal; generation: number } | { refused: string };

/** A live client, by key or by id and secret, signs in only when it holds scope `ops`. */
const operatorOf = (row: typeof clients.$inferSelect): SignIn =>
  row.scopes.includes("ops")
    ? { principal: clientPrincipal(toRecord(row)), generation: row.generation }
    : { refused: "This client has no ops scope: the console is for operators." };

async function signInPrincipal(c: C, form: Record<string, string>): Promise<SignIn> {
  const db = c.get("services").db;
  const key = (form.key ?? "").trim();
  const clientId = (form.clientId ?? "").trim();
  const secret = form.clientSecret ?? "";
  if (key && key.length <= 512) {
    if (timingSafeEqual(key, getAuthConfig(c.env).ADMIN_API_KEY)) return { principal: ADMIN_PRINCIPAL, generation: 0 };
    const row = await db.select().from(clients).where(eq(clients.apiKeyHash, await sha256Hex(key))).get();
    if (row && !row.revokedAt) return operatorOf(row);
    return { refused: "Unknown or revoked key." };
  }
  if (clientId && secret && clientId.length <= 128 && secret.length <= 256) {
    const row = await db.select().from(clients).where(eq(clients.id, clientId)).get();
    const ok = timingSafeEqual(await sha256Hex(secret), row?.secretHash ?? "0".repeat(64));
    if (row && !row.revokedAt && ok) return operatorOf(row);
    return { refused: "Unknown client or wrong secret." };
  }
  return { refused: "Enter a key, or a client id and secret." };
}

export function createConsoleApp() {
  const app = new Hono<ConsoleEnv>();
  app.use("*", async (c, next) => {
    await next();
    hardenHeaders(c);
  });
  app.onError((err, c) => {
    hardenHeaders(c);
    if (err instanceof GatewayError && statusOf(err) < 500) return errorPage(c, statusOf(err), err.message);
    createLogger({ requestId: c.get("requestId") }).error("console error", { kind: err instanceof Error ? err.name : typeof err });
    return errorPage(c, 500, `Internal error (request ${c.get("requestId") ?? "?"}).`);
  });

  // Sign-in form, or the overview when signed in.
  app.get("/", async (c) => {
    const session = await readSession(c);
    if (!session) return c.html(<Document title="Sign in"><SignInPage notice={c.req.query("signedOut") ? "Signed out." : undefined} /></Document>);
    c.set("session", session);
    c.set("principal", session.principal);
    const db = c.get("services").db;
    const now = Date.now();
    const [claimsData, hour, day, dl, funds, alertsToday] = await Promise.all([
      claimsByPeriod(db),
      upstreamHealth(db, new Date(now - 3600_000).toISOString()),
      upstreamHealth(db, new Date(now - 86_400_000).toISOString()),
      deadLetterCounts(db),
      fundsByHead(db),
      db.select({ n: count() }).from(alerts).where(gte(alerts.at, new Date(now - 86_400_000).toISOString())).get(),
    ]);
    return page(c, "Overview", "/console", <OverviewPage claims={claimsData} hour={hour} day={day} deadLetters={dl} funds={funds} alertsToday={Number(alertsToday?.n ?? 0)} />);
  });

  app.post("/sign-in", async (c) => {
    if (!sameOrigin(c)) throw new GatewayError("FORBIDDEN", "cross-site sign-in refused");
    const limiter = c.env.CLIENT_RATE_LIMITER;
    if (limiter) {
      const ip = c.req.header("cf-connecting-ip") ?? "local";
      const { success } = await limiter.limit({ key: `console-sign-in:${ip}` });
      if (!success) throw new GatewayError("RATE_LIMITED", "too many sign-in attempts; wait a minute");
    }
    const form = await formOf(c);
    const result = await signInPrincipal(c, form);
    if ("refused" in result) {
      createLogger({ requestId: c.get("requestId") }).warn("console sign-in refused");
      return c.html(<Document title="Sign in"><SignInPage error={result.refused} /></Document>, 401);
    }
    await issueSession(c, result.principal, result.generation);
    await auditInsert(c.get("services").db, {
      actor: actorOf(result.principal),
      action: "console.sign_in",
      targetType: "console_session",
      targetId: result.principal.id,
      requestId: c.get("requestId"),
    }).run();
    return c.redirect("/console", 303);
  });

  app.post("/sign-out", requireSession(), async (c) => {
    await protectedForm(c);
    clearSession(c);
    return c.redirect("/console?signedOut=1", 303);
  });

  // Every other page needs a session.
  app.use("/*", async (c, next) => (c.req.path === "/console" || c.req.path === "/console/" ? next() : requireSession()(c, next)));

  app.get("/transactions", async (c) => {
    const q = pick(c.req.query(), ["portal", "outcome", "operation", "subjectId", "requestId", "from", "to", "before"]);
    const parsed = TransactionFilter.safeParse({ ...q, from: istInput(q.from), to: istInput(q.to) });
    if (!parsed.success) return page(c, "Transaction log", "/console/transactions", <TransactionsPage q={q} items={[]} next={null} error={zodMessage(parsed.error)} />, 400);
    const before = q.before ? decodeCursor(q.before, z.number().int()) : undefined;
    const { items, nextBefore } = await listTransactions(c.get("services").db, parsed.data, PAGE, before);
    return page(c, "Transaction log", "/console/transactions", <TransactionsPage q={q} items={items} next={nextBefore === null ? null : encodeCursor(nextBefore)} />);
  });

  app.get("/transactions/:id", async (c) => {
    const id = Number(c.req.param("id"));
    const t = Number.isSafeInteger(id) && id > 0 ? await getTransaction(c.get("services").db, id) : null;
    if (!t) throw new GatewayError("NOT_FOUND", "no such call in the transaction log");
    return page(c, `Call ${t.id}`, "/console/transactions", <TransactionDetail t={t} />);
  });

  app.get("/dead-letters", async (c) => {
    const q = pick(c.req.query(), ["kind", "queue", "subjectId", "state", "from", "to", "before"]);
    const filter = DeadLetterFilter.safeParse({ ...q, from: istInput(q.from), to: istInput(q.to) });
    if (!filter.success) {
      return page(c, "Dead letters", "/console/dead-letters", <DeadLettersPage q={q} items={[]} next={null} csrf={c.get("session")!.csrf} error={zodMessage(filter.error)} />, 400);
    }
    const before = q.before ? decodeCursor(q.before, z.object({ createdAt: z.string(), id: z.string() })) : undefined;
    const db = c.get("services").db;
    const { items, next } = await listDeadLetters(db, filter.data, PAGE, before);
    const states = await subjectStates(db, items);
    const kinds = (await db.selectDistinct({ kind: deadLetters.kind }).from(deadLetters).orderBy(deadLetters.kind).limit(50).all()).map((r) => r.kind);
    return page(
      c,
      "Dead letters",
      "/console/dead-letters",
      <DeadLettersPage
        q={q}
        kinds={kinds}
        items={items.map((row) => ({ row, subject: subjectStateOf(states, row) }))}
        next={next ? encodeCursor(next) : null}
        csrf={c.get("session")!.csrf}
        ok={c.req.query("replayed") ? `Replayed ${c.req.query("replayed")}.` : undefined}
      />,
    );
  });

  const detail = async (c: C, id: string, flash: { ok?: string; error?: string } = {}, status: 200 | 409 | 422 | 404 = 200) => {
    const db = c.get("services").db;
    const row = await getDeadLetter(db, id);
    if (!row) throw new GatewayError("NOT_FOUND", "no such dead letter");
    const states = await subjectStates(db, [row]);
    return page(
      c,
      "Dead letter",
      "/console/dead-letters",
      <DeadLetterDetail row={row} subject={subjectStateOf(states, row)} body={displayBody(row)} csrf={c.get("session")!.csrf} {...flash} />,
      status,
    );
  };

  app.get("/dead-letters/:id", (c) => detail(c, c.req.param("id")));

  app.post("/dead-letters/replay", async (c) => {
    const form = await protectedForm(c);
    const raw = pick(form, ["kind", "queue", "subjectId", "state", "from", "to"]);
    const filter = DeadLetterFilter.safeParse({ ...raw, from: istInput(raw.from), to: istInput(raw.to) });
    if (!filter.success) throw new GatewayError("VALIDATION_FAILED", zodMessage(filter.error));
    const db = c.get("services").db;
    if (form.confirm !== "yes") {
      const n = await countDeadLetters(db, filter.data);
      return page(c, "Replay dead letters?", "/console/dead-letters", <BulkReplayConfirm filter={raw} count={n} max={BULK_REPLAY_MAX} csrf={c.get("session")!.csrf} />);
    }
    const results = await replayDeadLetters(c.env, db, filter.data, BULK_REPLAY_MAX, actorOf(c.get("principal")), c.get("requestId"));
    return page(c, "Replay results", "/console/dead-letters", <BulkReplayResult results={results} />);
  });

  app.post("/dead-letters/:id/replay", async (c) => {
    const form = await protectedForm(c);
    const id = c.req.param("id");
    if (form.confirm !== "yes") return detail(c, id, { error: "Tick the confirmation box to replay." }, 422);
    try {
      const r = await replayDeadLetter(c.env, c.get("services").db, id, actorOf(c.get("principal")), c.get("requestId"));
      return detail(c, id, { ok: `Replayed: ${r.message}.` });
    } catch (err) {
      if (err instanceof GatewayError && (statusOf(err) === 409 || statusOf(err) === 422)) return detail(c, id, { error: `Not replayed: ${err.message}` }, statusOf(err) as 409 | 422);
      throw err;
    }
  });

  app.get("/reconciliation", async (c) => {
    const db = c.get("services").db;
    const q = c.req.query("period");
    const period = q && PERIOD_RE.test(q) ? q : undefined;
    if (q && !period) throw new GatewayError("VALIDATION_FAILED", "period must be YYYY-MM");
    const periods = (await db.selectDistinct({ period: claims.period }).from(claims).orderBy(desc(claims.period)).limit(24).all()).map((r) => r.period);
    const chosen = period ?? periods[0] ?? currentIstPeriod();
    const r = await claimsReconciliation(db, chosen);
    return page(c, `Claims reconciliation ${chosen}`, "/console/reconciliation", <ReconciliationPage period={chosen} rows={r.rows} total={r.total} periods={periods} />);
  });

  app.get("/reconciliation.csv", async (c) => {
    const period = c.req.query("period") ?? "";
    if (!PERIOD_RE.test(period)) throw new GatewayError("VALIDATION_FAILED", "period must be YYYY-MM");
    const csv = reconciliationCsv(await claimsReconciliation(c.get("services").db, period));
    c.header("Content-Disposition", `attachment; filename="claims-${period}.csv"`);
    return c.body(csv, 200, { "Content-Type": "text/csv; charset=utf-8" });
  });

  app.get("/audit", async (c) => {
    const q = pick(c.req.query(), ["action", "actor", "targetType", "targetId", "before"]);
    const where: SQL[] = [];
    if (q.action) where.push(eq(auditLog.action, q.action.slice(0, 64)));
    if (q.actor) where.push(eq(auditLog.actor, q.actor.slice(0, 160)));
    if (q.targetType) where.push(eq(auditLog.targetType, q.targetType.slice(0, 64)));
    if (q.targetId) where.push(eq(auditLog.targetId, q.targetId.slice(0, 160)));
    if (q.before) where.push(lt(auditLog.id, decodeCursor(q.before, z.number().int())!));
    const rows = await c
      .get("services")
      .db.select()
      .from(auditLog)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(PAGE + 1)
      .all();
    const items = rows.slice(0, PAGE);
    return page(c, "Audit log", "/console/audit", <AuditPage q={q} items={items} next={rows.length > PAGE ? encodeCursor(items[items.length - 1].id) : null} />);
  });

  const paymentsPage = async (c: C, flash: { ok?: string; error?: string } = {}, status: 200 | 404 | 409 | 400 = 200) => {
    const scope = c.req.query("scope") === "all" ? "all" : "stuck";
    const { items } = await listPaymentsForOps(c.get("services").db, scope, 100);
    return page(c, "Payment instructions", "/console/payments", <PaymentsPage scope={scope} items={items} csrf={c.get("session")!.csrf} {...flash} />, status);
  };

  app.get("/payments", (c) => paymentsPage(c));

  app.post("/payments/:piId/status", async (c) => {
    const form = await protectedForm(c);
    const piId = c.req.param("piId");
    try {
      const r = await setPaymentStatusAsOperator(c.env, c.get("services").db, piId, form.status ?? "", form.reason ?? "", { principal: c.get("principal")! }, c.get("requestId"));
      return paymentsPage(c, { ok: `${r.piId}: ${r.before} → ${r.after}.` });
    } catch (err) {
      if (err instanceof GatewayError && [400, 404, 409].includes(statusOf(err))) return paymentsPage(c, { error: `Not changed: ${err.message}` }, statusOf(err) as 400);
      throw err;
    }
  });

  app.get("/alerts", async (c) => {
    const rows = await c.get("services").db.select().from(alerts).orderBy(desc(alerts.id)).limit(100).all();
    let config = { webhook: false, failureRate: "20%", deadLetters: 1 };
    try {
      const a = getAlertConfig(c.env);
      config = { webhook: !!a.ALERT_WEBHOOK_URL, failureRate: `${(a.ALERT_FAILURE_RATE / 100).toFixed(1)}%`, deadLetters: a.ALERT_DEAD_LETTERS };
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      return page(c, "Alerts", "/console/alerts", <p class="error">{err.message}</p>);
    }
    return page(c, "Alerts", "/console/alerts", <AlertsPage items={rows} config={config} />);
  });

  return app;
}

/** Mounts the operators' console at /console (CONTRACT §10). */
export function registerConsole(app: Router) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  app.route("/console", createConsoleApp() as any);
}
