import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { and, eq, gte } from "drizzle-orm";
import { createDb } from "../../src/storage/db";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../src/storage/schema/fiscal-outbox";
import { alerts } from "../../src/storage/schema/alerts";
import { prepareMessage } from "../../src/domain/fiscal/messages";
import { encodeMessage } from "../../src/adapters/ifix/codec";
import { PURGED } from "../../src/domain/funds/retention";
import { sweepFiscal } from "../../src/cron/fiscal-sweep.job";
import type { Env } from "../../src/env";
import { programInput } from "./helpers";
import { sandbox } from "../helpers/sandbox";

const db = createDb(env.DB);
const newKey = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

async function message(createdAt: string, over: Partial<typeof fiscalMessages.$inferInsert> = {}) {
  const p = await prepareMessage(env as unknown as Env, db, {
    ownerId: "cl_sweep",
    type: "program",
    action: "create",
    message: encodeMessage(programInput()),
  });
  await db.batch(p.inserts);
  await db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, p.messageId)).run();
  await db
    .update(fiscalMessages)
    .set({ deliveryStatus: "DELIVERED", createdAt, updatedAt: new Date().toISOString(), ...over })
    .where(eq(fiscalMessages.id, p.messageId))
    .run();
  return p.messageId;
}

describe("the fiscal sweep isolates failures (issue 10, item 7)", () => {
  it("a poison row is counted, alerted and skipped; the rows after it and every other step still run", async () => {
    // Oldest first, so before the fix the same poison row came first every run and stopped the rest.
    const poison = await message("2000-01-01T00:00:00.000Z", { wireBody: "v1.bm90IGEgc2VhbGVkIHZhbHVl" });
    const good = await message("2000-01-01T00:00:01.000Z");
    const old = new Date(Date.now() - 400 * 86_400_000).toISOString();
    const expired = await message(old, { updatedAt: old });
    // Alerts go where every operators' alert goes (the Assam sandbox's webhook receiver stands in).
    const rotated = {
      ...env,
      DATA_ENCRYPTION_KEY: `next:${newKey()},0:${env.DATA_ENCRYPTION_KEY}`,
      ALERT_WEBHOOK_URL: `${env.TEST_SANDBOX_URL}/assam/__sandbox/webhook`,
    } as unknown as Env;
    // At a moment of its own, hours ahead: other files' sweeps (the files share storage) may have
    // raised the same alert within the real hour, which would hold this one back.
    const moment = Date.now() + 3 * 3_600_000;
    const report = await sweepFiscal(rotated, moment);
    expect(Object.keys(report)).toEqual(["resendOutbox", "flushAccounts", "registries", "legacyPis", "retention", "reseal"]);
    expect(report.reseal.failed).toBeGreaterThanOrEqual(1);
    expect((await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, good)).get())!.wireBody).toMatch(/^v2\.next\./);
    expect((await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, poison)).get())!.wireBody).toBe("v1.bm90IGEgc2VhbGVkIHZhbHVl");
    expect((await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, expired)).get())!.wireBody).toBe(PURGED);
    const raised = await db
      .select()
      .from(alerts)
      .where(and(eq(alerts.subject, "fiscalSweep:reseal"), eq(alerts.at, new Date(moment).toISOString())))
      .all();
    expect(raised.length).toBeGreaterThanOrEqual(1);
    // Posted, not only recorded (it used to be recorded as not_configured whatever ALERT_WEBHOOK_URL said).
    expect(raised[0]).toMatchObject({ kind: "sweep_failure", delivery: "sent" });
    const posted = ((await sandbox("GET", "/assam/__sandbox/webhooks")).json.webhooks as { body: string }[]).filter(
      (w) => w.body.includes("amrit.gateway.alert") && w.body.includes("fiscalSweep:reseal"),
    );
    expect(posted.length).toBeGreaterThanOrEqual(1);
    // Not alerted again within the hour while it persists.
    await sweepFiscal(rotated, moment + 60_000);
    expect(
      await db
        .select()
        .from(alerts)
        .where(and(eq(alerts.subject, "fiscalSweep:reseal"), gte(alerts.at, new Date(moment).toISOString())))
        .all(),
    ).toHaveLength(raised.length);
    await db.update(fiscalMessages).set({ wireBody: PURGED }).where(eq(fiscalMessages.id, poison)).run();
  });
});
