import { beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { runInDurableObject } from "cloudflare:test";
import { call, createClient, expectError, type TestClient } from "../helpers/gateway";
import { createDb } from "../../src/storage/db";
import { auditLog } from "../../src/storage/schema/audit-log";
import { fundsAccounts } from "../../src/storage/schema/funds-accounts";
import { fundsAllotments } from "../../src/storage/schema/funds-allotments";
import { accountStub } from "../../src/domain/funds/accounts";
import type { FundsAccount } from "../../src/durable-objects/funds-account";
import type { Env } from "../../src/env";
import { account, allot, createTenantClient, summaryOf } from "./helpers";

let ops: TestClient;
let other: TestClient;
let reader: TestClient;

beforeAll(async () => {
  ops = await createTenantClient(["funds:write", "funds:read"], ["*"], "funds operator");
  other = await createTenantClient(["funds:write", "funds:read"], ["*"], "another funds client");
  reader = await createTenantClient(["funds:read"], ["*"], "funds reader");
});

describe("allotments (CONTRACT §7, JIT virtual allotments)", () => {
  it("INITIAL creates the sanction (201), again → 409 SANCTION_EXISTS", async () => {
    const acc = account();
    const r = await allot(ops.token, acc, "INITIAL_ALLOTMENT", 1000.5);
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      ...acc,
      type: "INITIAL_ALLOTMENT",
      amount: 1000.5,
      balance: { allotted: 1000.5, withdrawn: 0, committed: 0, available: 1000.5 },
    });
    expectError(await allot(ops.token, acc, "INITIAL_ALLOTMENT", 10), 409, "SANCTION_EXISTS");
    expect(await summaryOf(reader.token, acc.tenantId)).toEqual([{ ...acc, allotted: 1000.5, withdrawn: 0, committed: 0, available: 1000.5 }]);
  });

  it("an allotment that would take the account's total past what paise hold exactly is a 400, not applied", async () => {
    const acc = account();
    const max = 9_999_999_999_999; // the largest amount in rupees an allotment takes
    expect((await allot(ops.token, acc, "INITIAL_ALLOTMENT", max)).status).toBe(201);
    for (let i = 0; i < 8; i++) expect((await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", max)).status).toBe(201);
    const over = await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", max);
    expectError(over, 400, "VALIDATION_FAILED");
    const [item] = await summaryOf(reader.token, acc.tenantId);
    expect(item.allotted).toBe(89_999_999_999_991);
    expect((await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 1)).status).toBe(201);
  });

  it("ADDITIONAL adds (201); without a sanction → 404 SANCTION_NOT_FOUND; WITHDRAWAL deducts or 422", async () => {
    const acc = account();
    expectError(await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 10), 404, "SANCTION_NOT_FOUND");
    expectError(await allot(ops.token, acc, "ALLOTMENT_WITHDRAWAL", 10), 404, "SANCTION_NOT_FOUND");
    // Refused: nothing written anywhere.
    const d = createDb(env.DB);
    expect(await d.select().from(fundsAccounts).where(eq(fundsAccounts.tenantId, acc.tenantId)).all()).toEqual([]);
    expect(await d.select().from(fundsAllotments).where(eq(fundsAllotments.tenantId, acc.tenantId)).all()).toEqual([]);
    expect((await allot(ops.token, acc, "INITIAL_ALLOTMENT", 100)).status).toBe(201);
    expect((await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 0.1)).status).toBe(201);
    expect((await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 0.2)).json.balance.available).toBe(100.3); // exact, no float drift
    const w = await allot(ops.token, acc, "ALLOTMENT_WITHDRAWAL", 40.3);
    expect(w.status).toBe(201);
    expect(w.json.balance).toEqual({ allotted: 100.3, withdrawn: 40.3, committed: 0, available: 60 });
    expectError(await allot(ops.token, acc, "ALLOTMENT_WITHDRAWAL", 60.01), 422, "INSUFFICIENT_FUNDS");
    expect((await allot(ops.token, acc, "ALLOTMENT_WITHDRAWAL", 60)).json.balance.available).toBe(0);
    expect(await summaryOf(reader.token, acc.tenantId)).toEqual([{ ...acc, allotted: 100.3, withdrawn: 100.3, committed: 0, available: 0 }]);
  });

  it("accepts the JIT strings as the same three types", async () => {
    const acc = account();
    expect((await allot(ops.token, acc, "Initial Allotment", 50)).json.type).toBe("INITIAL_ALLOTMENT");
    expectError(await allot(ops.token, acc, "Initial Allotment", 50), 409, "SANCTION_EXISTS");
    expect((await allot(ops.token, acc, "Additional allotment", 25)).json.type).toBe("ADDITIONAL_ALLOTMENT");
    expect((await allot(ops.token, acc, "Allotment withdrawal", 5)).json).toMatchObject({ type: "ALLOTMENT_WITHDRAWAL", balance: { available: 70 } });
    expectError(await allot(ops.token, acc, "initial allotment", 5), 400, "VALIDATION_FAILED");
  });

  it("the same txnId again → 200 with the first result and no second effect; other content → 409; another client's → 409 without content", async () => {
    const acc = account();
    await allot(ops.token, acc, "INITIAL_ALLOTMENT", 100);
    const txnId = `VA/${crypto.randomUUID()}`;
    const first = await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 10, txnId);
    expect(first.status).toBe(201);
    const again = await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 10, txnId);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expectError(await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 11, txnId), 409, "IDEMPOTENCY_CONFLICT");
    const foreign = expectError(await allot(other.token, acc, "ADDITIONAL_ALLOTMENT", 10, txnId), 409, "CONFLICT");
    expect(JSON.stringify(foreign)).not.toContain(acc.tenantId);
    expect((await summaryOf(reader.token, acc.tenantId))[0].allotted).toBe(110);

    // Concurrent duplicates: applied once.
    const concurrentTxn = `VA/${crypto.randomUUID()}`;
    const rs = await Promise.all(Array.from({ length: 10 }, () => allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 1, concurrentTxn)));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(1);
    expect(rs.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    expect((await summaryOf(reader.token, acc.tenantId))[0].allotted).toBe(111);
  });

  it("concurrent withdrawals never take available below zero", async () => {
    const acc = account();
    await allot(ops.token, acc, "INITIAL_ALLOTMENT", 10);
    const rs = await Promise.all(Array.from({ length: 25 }, () => allot(ops.token, acc, "ALLOTMENT_WITHDRAWAL", 1)));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(10);
    expect(rs.filter((r) => r.status === 422)).toHaveLength(15);
    expect((await summaryOf(reader.token, acc.tenantId))[0]).toMatchObject({ withdrawn: 10, available: 0 });
  });

  it("the same txnId on another account is the same transaction used with other content: 409, applied once", async () => {
    const a = account();
    const b = account({ tenantId: a.tenantId });
    await allot(ops.token, a, "INITIAL_ALLOTMENT", 100);
    await allot(ops.token, b, "INITIAL_ALLOTMENT", 100);
    const txnId = `VA/${crypto.randomUUID()}`;
    expect((await allot(ops.token, a, "ADDITIONAL_ALLOTMENT", 10, txnId)).status).toBe(201);
    expectError(await allot(ops.token, b, "ADDITIONAL_ALLOTMENT", 10, txnId), 409, "IDEMPOTENCY_CONFLICT");
    expectError(await allot(other.token, b, "ADDITIONAL_ALLOTMENT", 10, txnId), 409, "CONFLICT");
    const items = await summaryOf(reader.token, a.tenantId);
    expect(items.map((i) => i.allotted).sort()).toEqual([100, 110]);
  });

  it("is audited as an operator action (who, what, before → after)", async () => {
    const acc = account();
    const r = await allot(ops.token, acc, "INITIAL_ALLOTMENT", 42);
    const rows = await createDb(env.DB)
      .select()
      .from(auditLog)
      .where(eq(auditLog.targetId, `${acc.tenantId}/${acc.headOfAccount}/${acc.ssuCode}`))
      .all();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: `client:${ops.clientId}`, action: "funds.allotment", targetType: "funds_account" });
    expect(rows[0].before).toMatchObject({ available: 0 });
    expect(rows[0].after).toMatchObject({ txnId: r.json.txnId, type: "INITIAL_ALLOTMENT", amount: 42, available: 42 });
    const admin = await call("GET", `/v1/admin/audit?action=funds.allotment&targetId=${encodeURIComponent(rows[0].targetId!)}`, { admin: true });
    expect(admin.json.items).toHaveLength(1);
  });

  it("an allotment applied whose D1 write failed is still audited once, and a retry answers the first result (issue 10, item 9)", async () => {
    const acc = account();
    const stub = accountStub(env as unknown as Env, acc);
    await allot(ops.token, acc, "INITIAL_ALLOTMENT", 100);
    await stub.testHooks({ failProjections: 1 });
    const txnId = `VA/${crypto.randomUUID()}`;
    const first = await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 5, txnId);
    expect(first.status).toBe(201); // applied in the object; its projection waits for the alarm
    const retry = await allot(ops.token, acc, "ADDITIONAL_ALLOTMENT", 5, txnId);
    expect(retry.status).toBe(200);
    expect(retry.json).toEqual(first.json);
    const target = `${acc.tenantId}/${acc.headOfAccount}/${acc.ssuCode}`;
    const audits = async () =>
      (await createDb(env.DB).select().from(auditLog).where(eq(auditLog.targetId, target)).all()).filter(
        (r) => (r.after as { txnId?: string })?.txnId === txnId,
      );
    await vi.waitFor(async () => expect(await audits()).toHaveLength(1), { timeout: 20_000, interval: 200 });
    // Projected again (a sweep's flush): still one.
    await stub.kick();
    expect(await audits()).toHaveLength(1);
    expect((await summaryOf(reader.token, acc.tenantId))[0].allotted).toBe(105);
    const held = await runInDurableObject(
      stub,
      async (_i: FundsAccount, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM audit").one().n,
    );
    expect(held).toBe(0); // projected, then dropped from the object
  });

  it("a programCode on the initial allotment is what the account's PIs carry", async () => {
    const acc = account();
    const r = await allot(ops.token, acc, "INITIAL_ALLOTMENT", 10, undefined, { programCode: "PORG/2026-27/00042" });
    expect(r.json).toMatchObject({ programCode: "PORG/2026-27/00042" });
    expectError(await allot(ops.token, acc, "INITIAL_ALLOTMENT", 10, undefined, { programCode: "x" }), 400, "VALIDATION_FAILED");
  });

  it("tenants: a client outside the account's tenant gets 403 and changes nothing; the summary shows only the client's tenants (issue 14, item 9)", async () => {
    const acc = account();
    const elsewhere = await createTenantClient(["funds:write", "funds:read"], ["pb.elsewhere"], "other tenant");
    const none = await createTenantClient(["funds:write", "funds:read"], [], "no tenant");
    // Before: any funds:write client could allot to (and read) any tenant's accounts.
    expectError(await allot(elsewhere.token, acc, "INITIAL_ALLOTMENT", 10), 403, "FORBIDDEN");
    expectError(await allot(none.token, acc, "INITIAL_ALLOTMENT", 10), 403, "FORBIDDEN");
    expect(await summaryOf(reader.token, acc.tenantId)).toEqual([]);
    expect((await allot(ops.token, acc, "INITIAL_ALLOTMENT", 10)).status).toBe(201);
    expectError(await call("GET", `/v1/funds/summary?tenantId=${acc.tenantId}`, { token: elsewhere.token }), 403, "FORBIDDEN");
    const mine = await call("GET", "/v1/funds/summary", { token: elsewhere.token });
    expect(mine.status).toBe(200);
    expect(mine.json.items.every((i: { tenantId: string }) => i.tenantId === "pb.elsewhere")).toBe(true);
    const scoped = await createTenantClient(["funds:read"], [acc.tenantId], "one tenant");
    expect((await call("GET", "/v1/funds/summary", { token: scoped.token })).json.items).toEqual([
      { ...acc, allotted: 10, withdrawn: 0, committed: 0, available: 10 },
    ]);
  });

  it("validates input and scopes", async () => {
    const acc = account();
    const bad = async (body: unknown) =>
      expectError(await call("POST", "/v1/funds/allotments", { token: ops.token, body }), 400, "VALIDATION_FAILED");
    await bad({ txnId: "t1", ...acc, type: "INITIAL_ALLOTMENT", amount: 0 });
    await bad({ txnId: "t1", ...acc, type: "INITIAL_ALLOTMENT", amount: 1.005 });
    await bad({ txnId: "t1", ...acc, type: "INITIAL_ALLOTMENT", amount: "10" });
    await bad({ txnId: "t1", ...acc, type: "INITIAL_ALLOTMENT", amount: -1 });
    await bad({ txnId: "t1", ...acc, type: "INITIAL_ALLOTMENT" });
    await bad({ txnId: "t1", ...acc, type: "INITIAL_ALLOTMENT", amount: 1, extra: true });
    await bad({ txnId: "t1", ...acc, headOfAccount: "x", type: "INITIAL_ALLOTMENT", amount: 1 });
    expectError(await allot(reader.token, acc, "INITIAL_ALLOTMENT", 1), 403, "FORBIDDEN");
    expectError(await call("GET", "/v1/funds/summary?tenantId=x", { token: reader.token }), 400, "VALIDATION_FAILED");
    expectError(
      await call("GET", `/v1/funds/summary?tenantId=${acc.tenantId}`, { token: (await createClient(["funds:write"])).token }),
      403,
      "FORBIDDEN",
    );
    expect(await summaryOf(reader.token, acc.tenantId)).toEqual([]);
  });
});
