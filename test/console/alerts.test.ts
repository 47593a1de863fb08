import { afterAll, describe, expect, it } from "vitest";
import { desc } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { checkAlerts } from "../../src/cron/alerts.job";
import { handleScheduled } from "../../src/cron";
import { alerts } from "../../src/storage/schema/alerts";
import { GatewayError } from "../../src/errors";
import { hmacSha256Hex } from "../../src/domain/security/crypto";
import { call } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
import { db, seedCall, seedDeadLetter } from "./helpers";

const withVars = (vars: Record<string, string>) => ({ ...env, ...vars }) as typeof env;
const receiver = () => `${env.TEST_SANDBOX_URL}/assam/__sandbox/webhook`;
const received = async () =>
  ((await sandbox("GET", "/assam/__sandbox/webhooks")).json.webhooks as { headers: Record<string, string>; body: string }[]).filter((w) =>
    w.body.includes("amrit.gateway.alert"),
  );

// This file's D1 starts empty; tests run in order and build on each other's rows.
describe("alerts from the 15-minute cron", () => {
  // The alerts borrow the Assam sandbox's webhook receiver, shared with the claims tests: leave it as found.
  afterAll(async () => {
    await sandbox("POST", "/assam/__sandbox/reset");
  });

  it("nothing wrong → no alert", async () => {
    await seedCall({ portal: "assam", outcome: "ok" });
    expect(await checkAlerts(withVars({ ALERT_WEBHOOK_URL: receiver() }))).toBe(0);
    expect(await db().select().from(alerts).all()).toHaveLength(0);
  });

  it("a failure rate over the threshold and open dead letters are posted (signed) and recorded, once per hour", async () => {
    for (let i = 0; i < 3; i++) await seedCall({ portal: "assam", outcome: i === 0 ? "retry" : "timeout", httpStatus: i === 0 ? 503 : null });
    await seedCall({ portal: "ifix", outcome: "ok" });
    await seedDeadLetter({ type: "deliver", claimId: crypto.randomUUID(), dispatchId: "d" });
    const before = (await received()).length;
    const vars = withVars({ ALERT_WEBHOOK_URL: receiver(), ALERT_WEBHOOK_SECRET: "alert-secret-for-tests" });

    expect(await checkAlerts(vars)).toBe(2);
    const rows = await db().select().from(alerts).orderBy(desc(alerts.id)).all();
    const rate = rows.find((r) => r.kind === "upstream_failure_rate")!;
    expect(rate).toMatchObject({ subject: "assam", value: 7500, threshold: 2000, delivery: "sent", httpStatus: 204 });
    expect(rows.find((r) => r.kind === "upstream_failure_rate" && r.subject === "ifix")).toBeUndefined();
    expect(rows.find((r) => r.kind === "dead_letters")).toMatchObject({ value: 1, threshold: 1, delivery: "sent" });

    const posts = (await received()).slice(before);
    expect(posts).toHaveLength(2);
    for (const p of posts) {
      expect(p.headers["x-amrit-signature"]).toBe(`sha256=${await hmacSha256Hex("alert-secret-for-tests", p.body)}`);
    }
    expect(JSON.parse(posts.find((p) => p.body.includes("upstream_failure_rate"))!.body)).toMatchObject({ type: "amrit.gateway.alert", subject: "assam", value: 7500 });

    // The conditions persist: nothing is re-sent within the hour.
    expect(await checkAlerts(vars)).toBe(0);
    expect((await received()).length).toBe(before + 2);
    // An hour later the backlog is still there (the failing calls have left the 15-minute window): sent again.
    expect(await checkAlerts(vars, Date.now() + 61 * 60_000)).toBe(1);
    expect((await received()).length).toBe(before + 3);

    const listed = await call("GET", "/v1/admin/alerts?limit=2", { admin: true });
    expect(listed.status).toBe(200);
    expect(listed.json.items).toHaveLength(2);
    expect(listed.json.nextCursor).toBeTypeOf("string");
  });

  it("thresholds come from configuration, validated", async () => {
    const strict = withVars({ ALERT_FAILURE_RATE: "0.9", ALERT_DEAD_LETTERS: "5" });
    await db().delete(alerts).run();
    expect(await checkAlerts(strict)).toBe(0); // 75 % < 90 %, 1 dead letter < 5
    for (const [name, value] of [
      ["ALERT_FAILURE_RATE", "abc"],
      ["ALERT_FAILURE_RATE", "1.5"],
      ["ALERT_DEAD_LETTERS", "-1"],
      ["ALERT_WEBHOOK_URL", "not a url"],
    ]) {
      const err = await checkAlerts(withVars({ [name]: value })).catch((e) => e);
      expect(err, name).toBeInstanceOf(GatewayError);
      expect(err.code).toBe("CONFIG_INVALID");
      expect(err.message).toContain(name);
      expect(err.message).not.toContain(value); // the variable is named, its value never echoed
    }
  });

  it("without a webhook, alerts are recorded only; the 15-minute schedule runs the job", async () => {
    await db().delete(alerts).run();
    const ctx = createExecutionContext();
    await handleScheduled(createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const rows = await db().select().from(alerts).all();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.every((r) => r.delivery === "not_configured")).toBe(true);
    expect(rows.some((r) => r.kind === "dead_letters")).toBe(true);
  });

  it("a webhook that fails is recorded as failed and tried again on the next run", async () => {
    await db().delete(alerts).run();
    const vars = withVars({ ALERT_WEBHOOK_URL: `${env.TEST_SANDBOX_URL}/nowhere` });
    expect(await checkAlerts(vars)).toBeGreaterThanOrEqual(1);
    const first = await db().select().from(alerts).all();
    expect(first.every((r) => r.delivery === "failed")).toBe(true);
    expect(await checkAlerts(vars)).toBe(first.length);
  });
});
