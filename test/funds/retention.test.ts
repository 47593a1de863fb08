import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { call, type TestClient } from "../helpers/gateway";
import { createDb } from "../../src/storage/db";
import { paymentInstructions } from "../../src/storage/schema/payment-instructions";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../src/storage/schema/fiscal-outbox";
import { fiscalCallbacks } from "../../src/storage/schema/fiscal-callbacks";
import { PURGED, PURGE_PAGE, purgeExpiredPersonalData } from "../../src/domain/funds/retention";
import { accountStub } from "../../src/domain/funds/accounts";
import { prepareMessage } from "../../src/domain/fiscal/messages";
import { sealText } from "../../src/domain/fiscal/at-rest";
import { encodeMessage } from "../../src/adapters/ifix/codec";
import { deliverPiMessage } from "../../src/domain/fiscal/delivery";
import type { FundsAccount } from "../../src/durable-objects/funds-account";
import type { Env } from "../../src/env";
import { account, allot, createTenantClient, pi, piBody } from "./helpers";
import { programInput } from "../fiscal/helpers";

const E = env as unknown as Env;
const db = createDb(env.DB);
const DAY = 86_400_000;
let owner: TestClient;

beforeAll(async () => {
  owner = await createTenantClient(["funds:write", "funds:read"], ["*"], "retention owner");
});
const ago = (days: number, now = Date.now()) => new Date(now - days * DAY).toISOString();

describe("beneficiaries' details are kept only while reconciliation needs them (CONTRACT §11)", () => {
  it("in the account's object: a PI final 366 days ago loses its sealed disburse, one final 364 days ago keeps it; exact counts, in pages", async () => {
    const acc = account();
    await allot(owner.token, acc, "INITIAL_ALLOTMENT", 100);
    const stub = accountStub(E, acc);
    // Not handed to delivery: the admin's FAILED below would be refused while a post is in flight.
    await stub.testHooks({ holdHandoff: true });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await pi(owner.token, piBody(acc, 1))).json.piId);
    for (const id of ids) {
      const r = await call("POST", `/v1/payment-instructions/${id}/status`, { admin: true, body: { status: "FAILED", reason: "retention test" } });
      expect(r.status).toBe(200);
    }
    const now = Date.now();
    for (const [k, id] of ids.entries()) await stub.testSetFinalAt(id, ago(k < 3 ? 366 : 364, now));
    const purge = (limit: number) => runInDurableObject(stub, async (instance: FundsAccount) => instance.purgePersonalData(now, limit));
    expect(await purge(2)).toBe(2); // a page
    expect(await purge(2)).toBe(1); // the rest of the 366-day ones
    expect(await purge(2)).toBe(0);
    const views = await Promise.all(ids.map(async (id) => (await call("GET", `/v1/payment-instructions/${id}`, { token: owner.token })).json));
    expect(views.map((v) => v.beneficiaries.length)).toEqual([0, 0, 0, 1, 1]);
    expect(views.every((v) => v.status === "FAILED" && v.amount === 1 && v.log.length === 2)).toBe(true);
    await stub.testHooks({ holdHandoff: false });
  });

  it("a final PI whose disburse is still queued keeps its names until the delivery settles; then they go", async () => {
    const acc = account();
    await allot(owner.token, acc, "INITIAL_ALLOTMENT", 100);
    const stub = accountStub(E, acc);
    await stub.testHooks({ holdHandoff: true });
    const id = (await pi(owner.token, piBody(acc, 5))).json.piId;
    expect(
      (await call("POST", `/v1/payment-instructions/${id}/status`, { token: owner.token, body: { status: "SUCCESSFUL", reason: "paid offline" } }))
        .status,
    ).toBe(200);
    await stub.testSetFinalAt(id, ago(400));
    const purge = () => runInDurableObject(stub, async (instance: FundsAccount) => instance.purgePersonalData(Date.now(), 10));
    expect(await purge()).toBe(0); // still to be sent: its message needs the names
    const [h] = await stub.testHandOff();
    expect(await deliverPiMessage(E, h)).toBe("delivered");
    expect(await purge()).toBe(1);
    expect((await call("GET", `/v1/payment-instructions/${id}`, { token: owner.token })).json.beneficiaries).toEqual([]);
    await stub.testHooks({ holdHandoff: false });
  });

  it("in D1: settled messages unchanged for 366 days lose their body, 364 days keep it; exact counts, past one page", async () => {
    const writer = await createTenantClient(["fiscal:write", "fiscal:read"], ["*"], "retention writer");
    const old: string[] = [];
    const young: string[] = [];
    const queued: string[] = [];
    const now = Date.now();
    for (let i = 0; i < PURGE_PAGE + 5 + 3 + 1; i++) {
      const p = await prepareMessage(E, db, { ownerId: writer.clientId, type: "program", action: "create", message: encodeMessage(programInput()) });
      await db.batch(p.inserts);
      const group = i < PURGE_PAGE + 5 ? old : i < PURGE_PAGE + 8 ? young : queued;
      group.push(p.messageId);
    }
    const all = [...old, ...young, ...queued];
    await db.delete(fiscalOutbox).where(inArray(fiscalOutbox.messageId, all)).run();
    await db
      .update(fiscalMessages)
      .set({ deliveryStatus: "DELIVERED", updatedAt: ago(366, now) })
      .where(inArray(fiscalMessages.id, old))
      .run();
    await db
      .update(fiscalMessages)
      .set({ deliveryStatus: "DELIVERED", updatedAt: ago(364, now) })
      .where(inArray(fiscalMessages.id, young))
      .run();
    // Still waiting for delivery: keeps its body whatever its age.
    await db
      .update(fiscalMessages)
      .set({ deliveryStatus: "QUEUED", updatedAt: ago(500, now) })
      .where(inArray(fiscalMessages.id, queued))
      .run();
    await purgeExpiredPersonalData(E, db, now);
    const rows = await db
      .select({ id: fiscalMessages.id, body: fiscalMessages.wireBody })
      .from(fiscalMessages)
      .where(inArray(fiscalMessages.id, all))
      .all();
    const purged = new Set(rows.filter((r) => r.body === PURGED).map((r) => r.id));
    expect(old.filter((id) => purged.has(id))).toHaveLength(old.length);
    expect(young.filter((id) => purged.has(id))).toHaveLength(0);
    expect(queued.filter((id) => purged.has(id))).toHaveLength(0);
    const view = await call("GET", `/v1/fiscal/messages/${old[0]}`, { token: writer.token });
    expect(view.json).toMatchObject({ messageId: old[0], type: "program", deliveryStatus: "DELIVERED" });
  });

  it("in D1 (PIs from before the objects held them): a FAILED PI's disburse still queued is cancelled and purged, never sent", async () => {
    const writer = await createTenantClient(["fiscal:write"], ["*"], "legacy");
    const piId = `pi_legacy${crypto.randomUUID().replace(/-/g, "").slice(0, 11)}`;
    const p = await prepareMessage(E, db, {
      ownerId: writer.clientId,
      type: "disburse",
      action: "create",
      message: encodeMessage({ transactionId: piId, locationCode: "pb.x" }),
    });
    await db.batch(p.inserts);
    await db.update(fiscalMessages).set({ piId }).where(eq(fiscalMessages.id, p.messageId)).run();
    await db.insert(paymentInstructions).values({
      piId,
      paymentId: `PAY/${crypto.randomUUID()}`,
      ownerId: writer.clientId,
      tenantId: "pb.x",
      headOfAccount: "H",
      ssuCode: "S",
      amount: 100,
      beneficiaryCount: 1,
      beneficiariesEnc: await sealText(E, JSON.stringify([{ name: "Old Person", accountCode: "1@X", amount: 100 }]), piId),
      status: "FAILED",
      live: 0,
      seq: 1,
      messageId: p.messageId,
      createdAt: ago(400),
      updatedAt: ago(366),
    });
    const r = await purgeExpiredPersonalData(E, db);
    expect(r.cancelled).toBeGreaterThanOrEqual(1);
    expect((await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, piId)).get())!.beneficiariesEnc).toBe(PURGED);
    expect(await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, p.messageId)).get()).toMatchObject({
      deliveryStatus: "CANCELLED",
      wireBody: PURGED,
    });
    expect(await db.select().from(fiscalOutbox).where(eq(fiscalOutbox.messageId, p.messageId)).all()).toEqual([]);
  });

  it("verified callbacks are kept FISCAL_CALLBACK_RETENTION_DAYS (default 400): 401 days old go, 399 stay", async () => {
    const tag = crypto.randomUUID();
    const now = Date.now();
    const row = (days: number, i: number) => ({
      senderId: `retention-${tag}`,
      messageId: `m-${i}`,
      contentHash: `${tag}-${i}`,
      dedupeKey: `${tag}-${i}`,
      type: "program",
      answer: { acknowledged: true },
      receivedAt: ago(days, now),
    });
    await db
      .insert(fiscalCallbacks)
      .values([...Array.from({ length: 4 }, (_, i) => row(401, i)), ...Array.from({ length: 2 }, (_, i) => row(399, 10 + i))])
      .run();
    await purgeExpiredPersonalData(E, db, now);
    const left = await db
      .select({ m: fiscalCallbacks.messageId })
      .from(fiscalCallbacks)
      .where(eq(fiscalCallbacks.senderId, `retention-${tag}`))
      .all();
    expect(left.map((l) => l.m).sort()).toEqual(["m-10", "m-11"]);
    // Configurable.
    await purgeExpiredPersonalData({ ...env, FISCAL_CALLBACK_RETENTION_DAYS: "30" } as unknown as Env, db, now);
    expect(
      await db
        .select()
        .from(fiscalCallbacks)
        .where(eq(fiscalCallbacks.senderId, `retention-${tag}`))
        .all(),
    ).toEqual([]);
  });
});
