import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { call, createClient, expectError, type TestClient } from "../helpers/gateway";
import { clearFaults, sandbox, setFaults } from "../helpers/sandbox";
import { createDb } from "../../src/storage/db";
import { paymentInstructions } from "../../src/storage/schema/payment-instructions";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../src/storage/schema/fiscal-outbox";
import { deadLetters } from "../../src/storage/schema/dead-letters";
import { auditLog } from "../../src/storage/schema/audit-log";
import { accountStub } from "../../src/domain/funds/accounts";
import type { Env } from "../../src/env";
import { callbackHeader, postCallback, relayCallbacks, signedCallback } from "../fiscal/helpers";
import { account, allot, pi, piBody, summaryOf, type Account } from "./helpers";

let owner: TestClient;
let other: TestClient;
let ops: TestClient;
const db = createDb(env.DB);

beforeAll(async () => {
  owner = await createClient(["funds:write", "funds:read"], "pi owner");
  other = await createClient(["funds:write", "funds:read"], "another pi client");
  ops = await createClient(["ops"], "operator");
});
afterEach(async () => {
  await clearFaults();
});

async function funded(amount: number, over: Partial<Account> = {}) {
  const acc = account(over);
  expect((await allot(owner.token, acc, "INITIAL_ALLOTMENT", amount)).status).toBe(201);
  return acc;
}
const balance = async (acc: Account) => (await summaryOf(owner.token, acc.tenantId)).find((i) => i.headOfAccount === acc.headOfAccount && i.ssuCode === acc.ssuCode)!;
const getPi = (piId: string, token = owner.token) => call("GET", `/v1/payment-instructions/${piId}`, { token });
const setStatus = (piId: string, status: string, token = owner.token) =>
  call("POST", `/v1/payment-instructions/${piId}/status`, { token, body: { status, reason: `test ${status}` } });
const disburseCallback = async (piId: string, status: string, note = crypto.randomUUID()) =>
  postCallback("disburse", await signedCallback({ header: callbackHeader(), message: { transaction_id: piId, note, status: { status_code: status } } }));

describe("payment instructions (CONTRACT §7)", () => {
  it("commits funds, sends a signed disburse with decrypted beneficiaries, and follows on-disburse callbacks", async () => {
    const acc = await funded(1000);
    const body = piBody(acc, 300.5, {
      beneficiaries: [
        { name: "Asha Devi", accountCode: "1234567890@SBIN0003491", amount: 200.25 },
        { name: "Meena Kumari", accountCode: "9876543210@HDFC0000001", amount: 100.25 },
      ],
    });
    const r = await pi(owner.token, body);
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ piId: expect.stringMatching(/^[A-Za-z0-9_-]+$/), status: "INITIATED" });
    expect(await balance(acc)).toMatchObject({ allotted: 1000, committed: 300.5, available: 699.5 });

    // At rest: names and account codes only encrypted.
    const row = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, r.json.piId)).get();
    const msg = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, row!.messageId)).get();
    for (const stored of [JSON.stringify(row), JSON.stringify(msg)]) {
      expect(stored).not.toContain("Asha Devi");
      expect(stored).not.toContain("1234567890@SBIN0003491");
    }

    // The owner sees the beneficiaries; the admin sees the PI without them; another client sees nothing.
    const view = await getPi(r.json.piId);
    expect(view.json).toMatchObject({ piId: r.json.piId, paymentId: body.paymentId, amount: 300.5, status: "INITIATED", ...acc });
    expect(view.json.beneficiaries).toEqual(body.beneficiaries);
    const asAdmin = (await call("GET", `/v1/payment-instructions/${r.json.piId}`, { admin: true })).json;
    expect(asAdmin).toMatchObject({ piId: r.json.piId, beneficiaryCount: 2, beneficiaries: [] });
    expectError(await getPi(r.json.piId, other.token), 404, "NOT_FOUND");

    // What iFIX received.
    await vi.waitFor(async () => expect((await sandbox("GET", `/ifix/__sandbox/messages/${row!.messageId}`)).status).toBe(200), { timeout: 10_000, interval: 100 });
    const sent = (await sandbox("GET", `/ifix/__sandbox/messages/${row!.messageId}`)).json;
    expect(sent.type).toBe("disburse");
    expect(sent.message).toMatchObject({ transaction_id: r.json.piId, net_amount: 300.5, gross_amount: 300.5 });
    expect(sent.message.children.map((c: any) => [c.name, c.account_code, c.net_amount])).toEqual([
      ["Asha Devi", "1234567890@SBIN0003491", 200.25],
      ["Meena Kumari", "9876543210@HDFC0000001", 100.25],
    ]);

    const results = await relayCallbacks({ transactionId: r.json.piId });
    expect(results.map((x) => x.json.status)).toEqual(["INPROCESS", "SUCCESSFUL"]);
    const after = await getPi(r.json.piId);
    expect(after.json.status).toBe("SUCCESSFUL");
    expect(after.json.log.map((l: any) => [l.source, l.from, l.to, l.accepted])).toEqual([
      ["system", null, "INITIATED", true],
      ["callback", "INITIATED", "IN_PROCESS", true],
      ["callback", "IN_PROCESS", "SUCCESSFUL", true],
    ]);
    expect(after.json.delivery).toMatchObject({ deliveryStatus: "DELIVERED", status: "SUCCESSFUL" });
    expect(await balance(acc)).toMatchObject({ committed: 300.5, available: 699.5 });
  });

  it("422 AMOUNT_MISMATCH and 422 INSUFFICIENT_FUNDS deduct nothing and leave the paymentId free", async () => {
    const acc = await funded(100);
    const mismatch = piBody(acc, 50, { beneficiaries: [{ name: "A", accountCode: "11@SBIN0000001", amount: 49.99 }] });
    expectError(await pi(owner.token, mismatch), 422, "AMOUNT_MISMATCH");
    const tooMuch = piBody(acc, 100.01);
    expectError(await pi(owner.token, tooMuch), 422, "INSUFFICIENT_FUNDS");
    expect(await balance(acc)).toMatchObject({ committed: 0, available: 100 });
    expect((await pi(owner.token, { ...mismatch, beneficiaries: [{ name: "A", accountCode: "11@SBIN0000001", amount: 50 }] })).status).toBe(201);
    await allot(owner.token, acc, "ADDITIONAL_ALLOTMENT", 50.01);
    expect((await pi(owner.token, tooMuch)).status).toBe(201);
    expect(await balance(acc)).toMatchObject({ committed: 150.01, available: 0 });
    expectError(await pi(owner.token, piBody({ tenantId: `pb.none${crypto.randomUUID().slice(0, 6)}` }, 1)), 422, "INSUFFICIENT_FUNDS");
  });

  it("a beneficiary name the signature cannot canonicalize (a lone surrogate) is a 400 before any funds move", async () => {
    const acc = await funded(100);
    const body = piBody(acc, 10, { beneficiaries: [{ name: "Asha \ud800", accountCode: "11@SBIN0000001", amount: 10 }] });
    expectError(await pi(owner.token, body), 400, "VALIDATION_FAILED");
    expect(await balance(acc)).toMatchObject({ committed: 0, available: 100 });
    expect((await pi(owner.token, { ...body, beneficiaries: [{ name: "Asha", accountCode: "11@SBIN0000001", amount: 10 }] })).status).toBe(201);
  });

  it("one live PI per paymentId (409 PI_EXISTS, race-free); another client's → 409 CONFLICT; FAILED frees it", async () => {
    const acc = await funded(1000);
    const body = piBody(acc, 10);
    const rs = await Promise.all(Array.from({ length: 20 }, () => pi(owner.token, body)));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(1);
    expect(rs.filter((r) => r.status === 409 && r.json.error.code === "PI_EXISTS")).toHaveLength(19);
    expect(await balance(acc)).toMatchObject({ committed: 10, available: 990 });
    const foreign = expectError(await pi(other.token, body), 409, "CONFLICT");
    expect(foreign.details).toEqual([]);
    const first = rs.find((r) => r.status === 201)!.json.piId;
    expect((await setStatus(first, "FAILED")).status).toBe(200);
    expect(await balance(acc)).toMatchObject({ committed: 0, available: 1000 });
    const again = await pi(owner.token, body);
    expect(again.status).toBe(201);
    expect(again.json.piId).not.toBe(first);
  });

  it("without headOfAccount/ssuCode the first account in sorted order with enough funds pays", async () => {
    const tenantId = `pb.auto${crypto.randomUUID().slice(0, 6)}`;
    const a = await funded(50, { tenantId, headOfAccount: "A-100", ssuCode: "SSU-1" });
    const b = await funded(500, { tenantId, headOfAccount: "B-200", ssuCode: "SSU-1" });
    const big = await pi(owner.token, piBody({ tenantId }, 100));
    expect(big.status).toBe(201);
    expect((await getPi(big.json.piId)).json).toMatchObject({ headOfAccount: "B-200", ssuCode: "SSU-1" });
    const small = await pi(owner.token, piBody({ tenantId }, 40));
    expect((await getPi(small.json.piId)).json.headOfAccount).toBe("A-100");
    const onlyA = await pi(owner.token, piBody({ tenantId, headOfAccount: "A-100" }, 20));
    expectError(onlyA, 422, "INSUFFICIENT_FUNDS");
    expect(await balance(a)).toMatchObject({ available: 10 });
    expect(await balance(b)).toMatchObject({ available: 400 });
  });

  it("200 concurrent PIs against funds for 150: exactly 150 succeed, available ends at the exact remainder", async () => {
    const acc = await funded(150 * 7.33 + 3.21);
    const rs = await Promise.all(Array.from({ length: 200 }, () => pi(owner.token, piBody(acc, 7.33))));
    const statuses = rs.map((r) => (r.status === 422 ? r.json.error.code : r.status));
    expect(statuses.filter((s) => s === 201)).toHaveLength(150);
    expect(statuses.filter((s) => s === "INSUFFICIENT_FUNDS")).toHaveLength(50);
    const b = await balance(acc);
    expect(b).toMatchObject({ allotted: 1102.71, committed: 1099.5, available: 3.21 });
    const truth = await accountStub(env as unknown as Env, acc).snapshot();
    expect(truth).toMatchObject({ committed: 109950, available: 321 });
    expect(truth.available).toBeGreaterThanOrEqual(0);
    // 50 refused requests left nothing behind.
    const rows = await db.select().from(paymentInstructions).where(eq(paymentInstructions.tenantId, acc.tenantId)).all();
    expect(rows).toHaveLength(150);
    expect(rows.every((r) => r.status === "INITIATED" && r.headOfAccount === acc.headOfAccount)).toBe(true);
  }, 60_000);

  it("concurrent FAILED callbacks and status calls release the amount exactly once; every call is logged", async () => {
    const acc = await funded(100);
    const r = await pi(owner.token, piBody(acc, 60));
    expect(await balance(acc)).toMatchObject({ available: 40 });
    const calls = await Promise.all([
      ...Array.from({ length: 8 }, () => setStatus(r.json.piId, "FAILED")),
      ...Array.from({ length: 8 }, (_, i) => disburseCallback(r.json.piId, i % 2 ? "FAILED" : "REJECTED")),
      ...Array.from({ length: 4 }, () => disburseCallback(r.json.piId, "ERROR")),
    ]);
    expect(calls.every((c) => c.status === 200)).toBe(true);
    expect(await balance(acc)).toMatchObject({ committed: 0, available: 100 });
    expect(await accountStub(env as unknown as Env, acc).snapshot()).toMatchObject({ committed: 0, available: 10000 });
    const view = (await getPi(r.json.piId)).json;
    expect(view.status).toBe("FAILED");
    expect(view.log.filter((l: any) => l.released)).toHaveLength(1);
    expect(view.log.filter((l: any) => l.source === "api")).toHaveLength(8);
    expect(view.log.filter((l: any) => l.source === "callback")).toHaveLength(12);
    // FAILED is final; the refused call is still logged and audited.
    expectError(await setStatus(r.json.piId, "SUCCESSFUL"), 409, "INVALID_STATE");
    const last = (await getPi(r.json.piId)).json.log.at(-1);
    expect(last).toMatchObject({ source: "api", from: "FAILED", to: "SUCCESSFUL", accepted: false });
    const audits = await db.select().from(auditLog).where(eq(auditLog.targetId, r.json.piId)).all();
    expect(audits).toHaveLength(9);
    expect(audits.every((a) => a.action === "funds.pi_status_override" && a.actor === `client:${owner.clientId}`)).toBe(true);
    expect(await balance(acc)).toMatchObject({ available: 100 });
  });

  it("maps iFIX statuses: INPROCESS → IN_PROCESS, REJECTED/ERROR → FAILED; paid money never fails back", async () => {
    const acc = await funded(100);
    const a = (await pi(owner.token, piBody(acc, 10))).json.piId;
    await disburseCallback(a, "INPROCESS");
    expect((await getPi(a)).json.status).toBe("IN_PROCESS");
    await disburseCallback(a, "PARTIAL");
    expect((await getPi(a)).json.status).toBe("PARTIAL");
    await disburseCallback(a, "ERROR"); // refused: some beneficiaries were paid
    expect((await getPi(a)).json.status).toBe("PARTIAL");
    expectError(await setStatus(a, "FAILED"), 409, "INVALID_STATE");
    await disburseCallback(a, "COMPLETED");
    expect((await getPi(a)).json.status).toBe("COMPLETED");
    const b = (await pi(owner.token, piBody(acc, 10))).json.piId;
    await disburseCallback(b, "REJECTED");
    expect((await getPi(b)).json.status).toBe("FAILED");
    const c = (await pi(owner.token, piBody(acc, 10))).json.piId;
    expect((await setStatus(c, "APPROVED")).json.status).toBe("APPROVED");
    await disburseCallback(c, "RECEIVED"); // not a PI status: logged on the message, PI unchanged
    expect((await getPi(c)).json.status).toBe("APPROVED");
    expect(await balance(acc)).toMatchObject({ committed: 20, available: 80 });
    expectError(await setStatus(c, "BOGUS"), 400, "VALIDATION_FAILED");
    expectError(await setStatus(c, "FAILED", other.token), 404, "NOT_FOUND");
  });

  it("follows the sandbox's configured statuses (INPROCESS, FAILED): released once, paymentId free again", async () => {
    await sandbox("PUT", "/ifix/__sandbox/statuses", { type: "disburse", statuses: ["INPROCESS", "FAILED"] });
    try {
      const acc = await funded(100);
      const body = piBody(acc, 30);
      const r = await pi(owner.token, body);
      await vi.waitFor(async () => expect((await getPi(r.json.piId)).json.delivery.deliveryStatus).toBe("DELIVERED"), { timeout: 15_000, interval: 100 });
      const results = await relayCallbacks({ transactionId: r.json.piId });
      expect(results.map((x) => x.json.status)).toEqual(["INPROCESS", "FAILED"]);
      expect((await getPi(r.json.piId)).json.status).toBe("FAILED");
      expect(await balance(acc)).toMatchObject({ committed: 0, available: 100 });
      expect((await pi(owner.token, body)).status).toBe(201);
    } finally {
      await sandbox("PUT", "/ifix/__sandbox/statuses", { type: "disburse", statuses: ["INPROCESS", "SUCCESSFUL"] });
    }
  });

  it("a dead-lettered disburse keeps its funds committed and is listed as stuck until an operator decides", async () => {
    // Earlier tests' deliveries finish first, so the fault below hits only this PI's disburse.
    await vi.waitFor(async () => expect(await db.select().from(fiscalOutbox).all()).toEqual([]), { timeout: 30_000, interval: 200 });
    await setFaults("ifix", { errorRate: 1, pathPattern: "^/ifix/ifix/v1/disburse" });
    const acc = await funded(100);
    const r = await pi(owner.token, piBody(acc, 25));
    const row = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, r.json.piId)).get();
    await vi.waitFor(
      async () => {
        const m = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, row!.messageId)).get();
        if (m?.deliveryStatus !== "FAILED") throw new Error(`still ${m?.deliveryStatus} after ${m?.attempts}`);
      },
      { timeout: 40_000, interval: 200 },
    );
    await vi.waitFor(async () => expect(await db.select().from(deadLetters).where(eq(deadLetters.subjectId, row!.messageId)).all()).toHaveLength(1), { timeout: 10_000 });
    expect((await getPi(r.json.piId)).json).toMatchObject({ status: "INITIATED", delivery: { deliveryStatus: "FAILED" } });
    expect(await balance(acc)).toMatchObject({ committed: 25, available: 75 });

    const stuck = await call("GET", `/v1/payment-instructions?stuck=true&tenantId=${acc.tenantId}`, { token: ops.token });
    expect(stuck.status).toBe(200);
    expect(stuck.json.items.map((i: any) => i.piId)).toEqual([r.json.piId]);
    expect(stuck.json.items[0]).toMatchObject({ status: "INITIATED", amount: 25, delivery: { deliveryStatus: "FAILED", attempts: 8 } });
    expect(JSON.stringify(stuck.json)).not.toContain("Asha Devi");

    expect((await setStatus(r.json.piId, "FAILED")).json.status).toBe("FAILED");
    expect(await balance(acc)).toMatchObject({ committed: 0, available: 100 });
    expect((await call("GET", `/v1/payment-instructions?stuck=true&tenantId=${acc.tenantId}`, { token: ops.token })).json.items).toEqual([]);
  }, 60_000);

  it("lists own PIs for funds:read clients, every client's for ops, with status filter and cursor", async () => {
    const acc = await funded(100);
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push((await pi(owner.token, piBody(acc, 1))).json.piId);
    const theirs = (await pi(other.token, piBody(acc, 1))).json.piId;
    const own = await call("GET", `/v1/payment-instructions?tenantId=${acc.tenantId}&limit=2`, { token: owner.token });
    expect(own.json.items).toHaveLength(2);
    const next = await call("GET", `/v1/payment-instructions?tenantId=${acc.tenantId}&limit=2&cursor=${own.json.nextCursor}`, { token: owner.token });
    expect([...own.json.items, ...next.json.items].map((i: any) => i.piId).sort()).toEqual([...mine].sort());
    expect(next.json.nextCursor).toBeNull();
    const all = await call("GET", `/v1/payment-instructions?tenantId=${acc.tenantId}&status=INITIATED`, { token: ops.token });
    expect(all.json.items.map((i: any) => i.piId).sort()).toEqual([...mine, theirs].sort());
    expectError(await call("GET", "/v1/payment-instructions?status=NOPE", { token: ops.token }), 400, "VALIDATION_FAILED");
    expectError(await call("POST", "/v1/payment-instructions", { token: ops.token, body: piBody(acc, 1) }), 403, "FORBIDDEN");
  });
});
