import { z } from "zod";
import { and, count, desc, eq, gte, lte, sql } from "drizzle-orm";
import { cfg, defineConfig, type Env } from "../env";
import { createDb, type Db } from "../storage/db";
import { alerts, type AlertKind } from "../storage/schema/alerts";
import { upstreamCalls } from "../storage/schema/upstream-calls";
import { deadLetters } from "../storage/schema/dead-letters";
import { openDeadLetter } from "../console/ops/dead-letters";
import { failedCalls } from "../console/ops/overview";
import { recordUpstreamCall } from "../storage/upstream-calls";
import { hmacSha256Hex } from "../domain/security/crypto";
import { createLogger } from "../lib/logger";

const rate = (def: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const s = v === undefined || v === "" ? def : v.trim();
      if (!/^(0(\.\d{1,4})?|1(\.0{1,4})?)$/.test(s) || Number(s) <= 0) {
        ctx.addIssue({ code: "custom", message: "a fraction above 0 and at most 1, e.g. 0.2" });
        return z.NEVER;
      }
      return Math.round(Number(s) * 10_000); // basis points
    });

/** Operators' alerts (issue 6). Every name optional: without a webhook, alerts are recorded only. */
export const getAlertConfig = defineConfig(
  "alerts",
  z.object({
    ALERT_WEBHOOK_URL: cfg.optionalUrl(),
    ALERT_WEBHOOK_SECRET: cfg.optional(),
    /** Failure rate over the last 15 minutes at or above which an upstream alerts (default 0.2). */
    ALERT_FAILURE_RATE: rate("0.2"),
    /** Open dead letters (not replayed, or failed again since) at or above which an alert is raised (default 1). */
    ALERT_DEAD_LETTERS: cfg.int(1, 1, 1_000_000),
    /** Fewest calls in the window before a failure rate counts (default 1). */
    ALERT_MIN_CALLS: cfg.int(1, 1, 1_000_000),
  }),
);

export const ALERT_WINDOW_MS = 15 * 60_000;
export const ALERT_REPEAT_MS = 60 * 60_000;

export interface Condition {
  kind: AlertKind;
  subject: string;
  value: number;
  threshold: number;
  message: string;
}

/** What is wrong now: upstream failure rates over the window, and the dead-letter backlog. */
export async function evaluateAlerts(env: Env, db: Db, now = Date.now()): Promise<Condition[]> {
  const c = getAlertConfig(env);
  const since = new Date(now - ALERT_WINDOW_MS).toISOString();
  const rows = await db
    .select({
      portal: upstreamCalls.portal,
      calls: count(),
      failures: failedCalls(),
    })
    .from(upstreamCalls)
    // The window ends at `now`: a check run for a given moment counts only what happened before it.
    .where(and(gte(upstreamCalls.at, since), lte(upstreamCalls.at, new Date(now).toISOString()), sql`${upstreamCalls.portal} != 'webhook'`))
    .groupBy(upstreamCalls.portal)
    .all();
  const out: Condition[] = [];
  for (const r of rows) {
    const calls = Number(r.calls);
    const failures = Number(r.failures ?? 0);
    if (calls < c.ALERT_MIN_CALLS) continue;
    const bp = Math.floor((failures * 10_000) / calls);
    if (bp >= c.ALERT_FAILURE_RATE) {
      out.push({
        kind: "upstream_failure_rate",
        subject: r.portal,
        value: bp,
        threshold: c.ALERT_FAILURE_RATE,
        message: `${r.portal}: ${failures} of ${calls} calls failed in the last 15 minutes (${(bp / 100).toFixed(1)}%, threshold ${(c.ALERT_FAILURE_RATE / 100).toFixed(1)}%)`,
      });
    }
  }
  const open = Number((await db.select({ n: count() }).from(deadLetters).where(openDeadLetter()).get())?.n ?? 0);
  if (open >= c.ALERT_DEAD_LETTERS) {
    out.push({
      kind: "dead_letters",
      subject: "dead_letters",
      value: open,
      threshold: c.ALERT_DEAD_LETTERS,
      message: `${open} dead letter${open === 1 ? "" : "s"} waiting for an operator (threshold ${c.ALERT_DEAD_LETTERS})`,
    });
  }
  return out;
}

/** The rules the 15-minute check applies, with their thresholds from configuration (the console shows them). */
export function alertRules(env: Env) {
  const c = getAlertConfig(env);
  return {
    webhookConfigured: !!c.ALERT_WEBHOOK_URL,
    signed: !!c.ALERT_WEBHOOK_SECRET,
    rules: [
      {
        kind: "upstream_failure_rate" as const,
        when: `a portal's failed calls (retry, failed, timeout, network) reach ${(c.ALERT_FAILURE_RATE / 100).toFixed(1)}% of its calls in the last 15 minutes, once it has made at least ${c.ALERT_MIN_CALLS}`,
        config: ["ALERT_FAILURE_RATE", "ALERT_MIN_CALLS"],
      },
      {
        kind: "dead_letters" as const,
        when: `${c.ALERT_DEAD_LETTERS} or more dead letters wait for an operator (not replayed, or failed again since)`,
        config: ["ALERT_DEAD_LETTERS"],
      },
      {
        kind: "break_glass_sign_in" as const,
        when: "someone signs in to the console with the admin key while Cloudflare Access is configured (at once, every time)",
        config: ["CF_ACCESS_TEAM_DOMAIN", "CF_ACCESS_AUD"],
      },
    ],
    repeat:
      "a failure-rate or backlog alert is not sent again within an hour while its condition persists; a failed webhook post is tried again on the next run",
  };
}

/**
 * Posts one alert to ALERT_WEBHOOK_URL (JSON, signed with ALERT_WEBHOOK_SECRET when set) and records
 * it in `alerts` (and the post in the transaction log). Without a webhook, it is recorded only.
 */
export async function deliverAlert(
  env: Env,
  db: Db,
  cond: Condition,
  now = Date.now(),
): Promise<{ delivery: "sent" | "failed" | "not_configured"; httpStatus: number | null }> {
  const c = getAlertConfig(env);
  const at = new Date(now).toISOString();
  let delivery: "sent" | "failed" | "not_configured" = "not_configured";
  let httpStatus: number | null = null;
  if (c.ALERT_WEBHOOK_URL) {
    const body = JSON.stringify({ type: "amrit.gateway.alert", at, ...cond });
    const headers: Record<string, string> = { "Content-Type": "application/json", "User-Agent": "amrit-edge-gateway/alerts" };
    if (c.ALERT_WEBHOOK_SECRET) headers["X-Amrit-Signature"] = `sha256=${await hmacSha256Hex(c.ALERT_WEBHOOK_SECRET, body)}`;
    const started = Date.now();
    try {
      const res = await fetch(c.ALERT_WEBHOOK_URL, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
      httpStatus = res.status;
      await res.body?.cancel();
      delivery = res.ok ? "sent" : "failed";
    } catch {
      delivery = "failed";
    }
    await recordUpstreamCall(db, {
      portal: "webhook",
      operation: "alert",
      subjectId: cond.subject,
      outcome: delivery === "sent" ? "ok" : httpStatus ? "failed" : "network",
      httpStatus,
      durationMs: Date.now() - started,
    });
  }
  await db.insert(alerts).values({
    at,
    kind: cond.kind,
    subject: cond.subject,
    value: cond.value,
    threshold: cond.threshold,
    message: cond.message,
    delivery,
    httpStatus,
  });
  createLogger({ job: "alerts" }).warn("alert raised", { kind: cond.kind, subject: cond.subject, delivery });
  return { delivery, httpStatus };
}

/**
 * The 15-minute alert check: each condition that holds is delivered (deliverAlert), unless the same
 * alert was raised in the last hour (the condition persists: no re-send).
 */
export async function runAlerts(_controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  await checkAlerts(env);
}

/** One alert check at `now`; answers how many alerts were raised (sent or recorded). */
export async function checkAlerts(env: Env, now = Date.now()): Promise<number> {
  const db = createDb(env.DB);
  const conditions = await evaluateAlerts(env, db, now);
  let raised = 0;
  for (const cond of conditions) if (await raiseAlert(env, db, cond, now)) raised++;
  return raised;
}

/**
 * Raises one alert (posted and recorded by deliverAlert) unless the same alert (kind + subject) was
 * raised in the hour before `now`. Also used outside the cron for conditions seen as they happen
 * (e.g. the Assam portal refusing a claim). Answers whether it was raised now.
 */
export async function raiseAlert(env: Env, db: Db, cond: Condition, now = Date.now()): Promise<boolean> {
  const recent = await db
    .select({ id: alerts.id })
    .from(alerts)
    // A failed webhook call does not count as sent: it is tried again on the next run.
    .where(
      and(
        eq(alerts.kind, cond.kind),
        eq(alerts.subject, cond.subject),
        gte(alerts.at, new Date(now - ALERT_REPEAT_MS).toISOString()),
        lte(alerts.at, new Date(now).toISOString()),
        sql`${alerts.delivery} != 'failed'`,
      ),
    )
    .orderBy(desc(alerts.id))
    .limit(1)
    .get();
  if (recent) return false;
  await deliverAlert(env, db, cond, now);
  return true;
}

/** The admin key signed in to the console while Access is configured: every use alerts at once. */
export async function raiseBreakGlassAlert(env: Env, db: Db, requestId: string | null) {
  return deliverAlert(env, db, {
    kind: "break_glass_sign_in",
    subject: "console",
    value: 1,
    threshold: 1,
    message: `the admin key was used to sign in to the console (break-glass) although Cloudflare Access is configured; request ${requestId ?? "?"}`,
  });
}

/** The console's test button: one alert of kind `test`, through the same path as real ones. */
export async function sendTestAlert(env: Env, db: Db, actor: string) {
  return deliverAlert(env, db, { kind: "test", subject: "console", value: 0, threshold: 0, message: `test alert sent from the console by ${actor}` });
}
