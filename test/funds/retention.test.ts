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
});
