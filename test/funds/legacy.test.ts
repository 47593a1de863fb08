import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { call, expectError, type TestClient } from "../helpers/gateway";
import { createDb } from "../../src/storage/db";
import { paymentInstructions } from "../../src/storage/schema/payment-instructions";
import { accountStub } from "../../src/domain/funds/accounts";
import { sealText } from "../../src/domain/fiscal/at-rest";
import { registerLegacyPis } from "../../src/cron/fiscal-sweep.job";
import type { FundsAccount } from "../../src/durable-objects/funds-account";
import type { Env } from "../../src/env";
import { account, allot, createTenantClient, piBody } from "./helpers";

const E = env as unknown as Env;
const db = createDb(env.DB);
let owner: TestClient;

beforeAll(async () => {
  owner = await createTenantClient(["funds:write", "funds:read"], ["*"], "legacy owner");
});

describe("PIs made before the ledger-and-outbox design (an upgraded deployment)", () => {
  it("the sweep registers a live legacy PI's paymentId, which then stays unique; the PI reads and moves through its D1 row", async () => {
    const acc = account();
    await allot(owner.token, acc, "INITIAL_ALLOTMENT", 100);
    const piId = `pi_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
    const paymentId = `PAY/${crypto.randomUUID()}`;
    const now = new Date().toISOString();
    // As the old code left it: the object holds the PI (no owner, no outbox), D1 the row and the beneficiaries.
    await runInDurableObject(accountStub(E, acc), async (_i: FundsAccount, s) => {
      s.storage.sql.exec("UPDATE account SET committed = committed + 1000 WHERE id = 1");
      s.storage.sql.exec(
        "INSERT INTO pis (pi_id, payment_id, amount, status, released, updated_seq, created_at, updated_at) VALUES (?, ?, 1000, 'INITIATED', 0, 1, ?, ?)",
        piId,
        paymentId,
        now,
        now,
      );
    });
    await db.insert(paymentInstructions).values({
      piId,
      paymentId,
      ownerId: owner.clientId,
      tenantId: acc.tenantId,
      headOfAccount: acc.headOfAccount,
      ssuCode: acc.ssuCode,
      amount: 1000,
      beneficiaryCount: 1,
      beneficiariesEnc: await sealText(E, JSON.stringify([{ name: "Old Person", accountCode: "1@SBIN0000001", amount: 1000 }]), piId),
      status: "INITIATED",
      live: 1,
      seq: 1,
      messageId: crypto.randomUUID(),
      createdAt: now,
      updatedAt: now,
    });
    const step = await registerLegacyPis(E, db, 500);
    expect(step.failed).toBe(0);
    expect((await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, piId)).get())!.registryAt).not.toBeNull();
    // Before the sweep registered it, this paymentId was free again for a second payment.
    const again = await call("POST", "/v1/payment-instructions", { token: owner.token, body: { ...piBody(acc, 10), paymentId } });
    expect(expectError(again, 409, "PI_EXISTS").details).toEqual([{ piId, status: "INITIATED" }]);
    const view = (await call("GET", `/v1/payment-instructions/${piId}`, { token: owner.token })).json;
    expect(view).toMatchObject({
      piId,
      paymentId,
      amount: 10,
      status: "INITIATED",
      beneficiaries: [{ name: "Old Person", accountCode: "1@SBIN0000001", amount: 10 }],
    });
    expect(
      (await call("POST", `/v1/payment-instructions/${piId}/status`, { token: owner.token, body: { status: "FAILED", reason: "legacy" } })).status,
    ).toBe(200);
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0 });
    expect((await call("POST", "/v1/payment-instructions", { token: owner.token, body: { ...piBody(acc, 10), paymentId } })).status).toBe(201);
  });
});
