import { beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { call, createClient, type TestClient } from "../helpers/gateway";
import { createDb } from "../../src/storage/db";
import { paymentInstructions } from "../../src/storage/schema/payment-instructions";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { purgeExpiredPersonalData, PURGED } from "../../src/domain/funds/retention";
import type { Env } from "../../src/env";
import { account, allot, pi, piBody } from "./helpers";
import { programInput } from "../fiscal/helpers";

const db = createDb(env.DB);
let owner: TestClient;

beforeAll(async () => {
  owner = await createClient(["funds:write", "funds:read"], "retention owner");
});

describe("beneficiaries' details are kept only while reconciliation needs them (CONTRACT §11)", () => {
  it("final PIs past PI_DATA_RETENTION_DAYS lose names, account codes and the signed body; amounts and log stay", async () => {
    const acc = account();
    await allot(owner.token, acc, "INITIAL_ALLOTMENT", 100);
    const done = (await pi(owner.token, piBody(acc, 10))).json.piId;
    const open = (await pi(owner.token, piBody(acc, 20))).json.piId;
    await call("POST", `/v1/payment-instructions/${done}/status`, { token: owner.token, body: { status: "FAILED", reason: "test" } });
    const longAgo = new Date(Date.now() - 400 * 86_400_000).toISOString();
    for (const id of [done, open]) await db.update(paymentInstructions).set({ updatedAt: longAgo }).where(eq(paymentInstructions.piId, id)).run();
    // The disburse deliveries settle first: a message still QUEUED keeps its body.
    await vi.waitFor(async () => {
      const r = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, done)).get();
      expect((await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, r!.messageId)).get())!.deliveryStatus).toBe("DELIVERED");
    }, { timeout: 10_000, interval: 100 });

    expect(await purgeExpiredPersonalData(env as unknown as Env, db)).toBeGreaterThanOrEqual(1);
    const row = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, done)).get();
    expect(row!.beneficiariesEnc).toBe(PURGED);
    const msg = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, row!.messageId)).get();
    expect(msg!.wireBody).toBe(PURGED);
    const view = (await call("GET", `/v1/payment-instructions/${done}`, { token: owner.token })).json;
    expect(view).toMatchObject({ status: "FAILED", amount: 10, beneficiaryCount: 1, beneficiaries: [] });
    expect(view.log.map((l: any) => l.to)).toEqual(["INITIATED", "FAILED"]);
    // Not final: kept.
    const openView = (await call("GET", `/v1/payment-instructions/${open}`, { token: owner.token })).json;
    expect(openView.beneficiaries).toHaveLength(1);
    // Within retention (a shorter period set to a long one): nothing more purged.
    expect(await purgeExpiredPersonalData({ ...env, PI_DATA_RETENTION_DAYS: "3650" } as unknown as Env, db)).toBe(0);
  });

  it("other settled fiscal messages lose their signed body after the retention period; queued ones keep it", async () => {
    const writer = await createClient(["fiscal:write", "fiscal:read"], "retention writer");
    const sent = await call("POST", "/v1/fiscal/programs", { token: writer.token, body: programInput() });
    expect(sent.status).toBe(202);
    const id = sent.json.messageId;
    await vi.waitFor(async () => expect((await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, id)).get())!.deliveryStatus).toBe("DELIVERED"), { timeout: 10_000, interval: 100 });
    const longAgo = new Date(Date.now() - 400 * 86_400_000).toISOString();
    // Kept within the period, even when settled.
    expect(await purgeExpiredPersonalData({ ...env, PI_DATA_RETENTION_DAYS: "3650" } as unknown as Env, db)).toBe(0);
    await db.update(fiscalMessages).set({ updatedAt: longAgo }).where(eq(fiscalMessages.id, id)).run();
    // A message still waiting for delivery keeps its bytes whatever its age.
    await db.update(fiscalMessages).set({ deliveryStatus: "QUEUED" }).where(eq(fiscalMessages.id, id)).run();
    await purgeExpiredPersonalData(env as unknown as Env, db);
    expect((await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, id)).get())!.wireBody).not.toBe(PURGED);
    await db.update(fiscalMessages).set({ deliveryStatus: "DELIVERED" }).where(eq(fiscalMessages.id, id)).run();
    expect(await purgeExpiredPersonalData(env as unknown as Env, db)).toBeGreaterThanOrEqual(1);
    const after = (await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, id)).get())!;
    expect(after.wireBody).toBe(PURGED);
    const view = await call("GET", `/v1/fiscal/messages/${id}`, { token: writer.token });
    expect(view.json).toMatchObject({ messageId: id, type: "program", deliveryStatus: "DELIVERED" });
  });
});
