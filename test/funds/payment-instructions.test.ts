import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { call, expectError, type TestClient } from "../helpers/gateway";
import { clearFaults, sandbox, setFaults } from "../helpers/sandbox";
import { createDb } from "../../src/storage/db";
import { paymentInstructions } from "../../src/storage/schema/payment-instructions";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { deadLetters } from "../../src/storage/schema/dead-letters";
import { auditLog } from "../../src/storage/schema/audit-log";
import { accountStub } from "../../src/domain/funds/accounts";
import type { FundsAccount } from "../../src/durable-objects/funds-account";
import type { Env } from "../../src/env";
import { callbackHeader, postCallback, relayCallbacks, signedCallback } from "../fiscal/helpers";
import { account, allot, createTenantClient, pi, piBody, summaryReaches, type Account } from "./helpers";

const E = env as unknown as Env;
let owner: TestClient;
let other: TestClient;
let ops: TestClient;
const db = createDb(env.DB);
/** Every PI this file made: a test injecting faults first waits until theirs are delivered. */
const made: string[] = [];

beforeAll(async () => {
  owner = await createTenantClient(["funds:write", "funds:read"], ["*"], "pi owner");
  other = await createTenantClient(["funds:write", "funds:read"], ["*"], "another pi client");
  ops = await createTenantClient(["ops"], ["*"], "operator");
});
afterEach(async () => {
  await clearFaults();
});

async function funded(amount: number, over: Partial<Account> = {}, extra: Record<string, unknown> = {}) {
  const acc = account(over);
  expect((await allot(owner.token, acc, "INITIAL_ALLOTMENT", amount, undefined, extra)).status).toBe(201);
  return acc;
}
async function create(token: string, body: Record<string, unknown>) {
  const r = await pi(token, body);
  if (r.status === 201) made.push(r.json.piId);
  return r;
}
const getPi = (piId: string, token = owner.token, qs = "") => call("GET", `/v1/payment-instructions/${piId}${qs}`, { token });
const setStatus = (piId: string, status: string, token = owner.token, reason: string | undefined = `test ${status}`) =>
  call("POST", `/v1/payment-instructions/${piId}/status`, { token, body: { status, ...(reason === undefined ? {} : { reason }) } });
const setStatusAsAdmin = (piId: string, status: string, reason?: string) =>
  call("POST", `/v1/payment-instructions/${piId}/status`, { admin: true, body: { status, ...(reason ? { reason } : {}) } });
const disburseCallback = async (piId: string, status: string, note = crypto.randomUUID()) =>
  postCallback(
    "disburse",
    await signedCallback({ header: callbackHeader(), message: { transaction_id: piId, note, status: { status_code: status } } }),
  );
const delivered = (piId: string, timeout = 15_000) =>
  vi.waitFor(
    async () => {
      const v = (await call("GET", `/v1/payment-instructions/${piId}`, { admin: true })).json;
      if (v?.delivery?.deliveryStatus !== "DELIVERED") throw new Error(`not delivered yet: ${JSON.stringify(v?.delivery)}`);
      return v;
    },
    { timeout, interval: 100 },
  );

describe("payment instructions (CONTRACT §7)", () => {
  it("commits funds, sends a signed disburse (beneficiaries, program_code, per-type sender_uri) and follows on-disburse callbacks", async () => {
    const acc = await funded(1000, {}, { programCode: "PORG/2026-27/00007" });
    const body = piBody(acc, 300.5, {
      beneficiaries: [
        { name: "Asha Devi", accountCode: "1234567890@SBIN0003491", amount: 200.25 },
        { name: "Meena Kumari", accountCode: "9876543210@HDFC0000001", amount: 100.25 },
      ],
    });
    const r = await create(owner.token, body);
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ piId: expect.stringMatching(/^[A-Za-z0-9_-]+$/), status: "INITIATED" });
    // Read-your-writes: the PI is read from its account's object, no projection lag.
    const view = await getPi(r.json.piId);
    expect(view.json).toMatchObject({
      piId: r.json.piId,
      paymentId: body.paymentId,
      amount: 300.5,
      status: "INITIATED",
      programCode: "PORG/2026-27/00007",
      ...acc,
    });
    expect(view.json.beneficiaries).toEqual(body.beneficiaries);
    await summaryReaches(owner.token, acc, { allotted: 1000, committed: 300.5, available: 699.5 });

    // At rest: names and account codes only sealed (in the account's object; D1 holds none).
    const row = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, r.json.piId)).get();
    const sealed = await runInDurableObject(
      accountStub(E, acc),
      async (_i: FundsAccount, s) => s.storage.sql.exec<{ payload: string }>("SELECT payload FROM outbox").one().payload,
    );
    expect(sealed).toMatch(/^v2\./);
    const v = await delivered(r.json.piId);
    const msg = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, v.delivery.messageId)).get();
    for (const stored of [JSON.stringify(row), JSON.stringify(msg), sealed]) {
      expect(stored).not.toContain("Asha Devi");
      expect(stored).not.toContain("1234567890@SBIN0003491");
    }

    // The admin sees the PI without beneficiaries; another client sees nothing.
    const asAdmin = (await call("GET", `/v1/payment-instructions/${r.json.piId}`, { admin: true })).json;
    expect(asAdmin).toMatchObject({ piId: r.json.piId, beneficiaryCount: 2, beneficiaries: [] });
    expectError(await getPi(r.json.piId, other.token), 404, "NOT_FOUND");

    // What iFIX received.
    const sent = (await sandbox("GET", `/ifix/__sandbox/messages/${v.delivery.messageId}`)).json;
    expect(sent.type).toBe("disburse");
    expect(sent.header).toMatchObject({ message_id: v.delivery.messageId, action: "create", sender_uri: `${env.IFIX_CALLBACK_URL}/on-disburse` });
    expect(sent.message).toMatchObject({
      transaction_id: r.json.piId,
      net_amount: 300.5,
      gross_amount: 300.5,
      program_code: "PORG/2026-27/00007",
      location_code: acc.tenantId,
    });
    expect(sent.message.additional_details).toMatchObject({ head_of_account: acc.headOfAccount, ssu_code: acc.ssuCode, payment_id: body.paymentId });
    expect(sent.message.children.map((c: any) => [c.name, c.account_code, c.net_amount, c.transaction_id])).toEqual([
      ["Asha Devi", "1234567890@SBIN0003491", 200.25, `${r.json.piId}/1`],
      ["Meena Kumari", "9876543210@HDFC0000001", 100.25, `${r.json.piId}/2`],
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
    // The message's D1 row, as delivery wrote it and the callbacks moved it.
    expect(await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, v.delivery.messageId)).get()).toMatchObject({
      ownerId: owner.clientId,
      type: "disburse",
      action: "create",
      parentId: null,
      transactionId: r.json.piId,
      piId: r.json.piId,
      receiverId: env.IFIX_RECEIVER_ID,
      locationCode: acc.tenantId,
      status: "SUCCESSFUL",
      deliveryStatus: "DELIVERED",
      attempts: 1,
      lastHttpStatus: 202,
      lastError: null,
      deliveredAt: expect.any(String),
    });
    await summaryReaches(owner.token, acc, { committed: 300.5, available: 699.5 });
  });

  it("a PI's own programCode wins over its account's", async () => {
    const acc = await funded(10, {}, { programCode: "PORG/ACCOUNT" });
    const r = await create(owner.token, piBody(acc, 1, { programCode: "PORG/INSTRUCTION" }));
    const v = await delivered(r.json.piId);
    expect(v.programCode).toBe("PORG/INSTRUCTION");
    expect((await sandbox("GET", `/ifix/__sandbox/messages/${v.delivery.messageId}`)).json.message.program_code).toBe("PORG/INSTRUCTION");
  });

  it("422 AMOUNT_MISMATCH and 422 INSUFFICIENT_FUNDS deduct nothing and leave the paymentId free", async () => {
    const acc = await funded(100);
    const mismatch = piBody(acc, 50, { beneficiaries: [{ name: "A", accountCode: "11@SBIN0000001", amount: 49.99 }] });
    expectError(await create(owner.token, mismatch), 422, "AMOUNT_MISMATCH");
    const tooMuch = piBody(acc, 100.01);
    expectError(await create(owner.token, tooMuch), 422, "INSUFFICIENT_FUNDS");
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0, available: 10000 });
    expect((await create(owner.token, { ...mismatch, beneficiaries: [{ name: "A", accountCode: "11@SBIN0000001", amount: 50 }] })).status).toBe(201);
    await allot(owner.token, acc, "ADDITIONAL_ALLOTMENT", 50.01);
    expect((await create(owner.token, tooMuch)).status).toBe(201);
    await summaryReaches(owner.token, acc, { committed: 150.01, available: 0 });
    expectError(await create(owner.token, piBody({ tenantId: `pb.none${crypto.randomUUID().slice(0, 6)}` }, 1)), 422, "INSUFFICIENT_FUNDS");
  });

  it("a beneficiary name the signature cannot canonicalize (a lone surrogate) is a 400 before any funds move", async () => {
    const acc = await funded(100);
    const body = piBody(acc, 10, { beneficiaries: [{ name: "Asha \ud800", accountCode: "11@SBIN0000001", amount: 10 }] });
    expectError(await create(owner.token, body), 400, "VALIDATION_FAILED");
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0 });
    expect((await create(owner.token, { ...body, beneficiaries: [{ name: "Asha", accountCode: "11@SBIN0000001", amount: 10 }] })).status).toBe(201);
  });

  it("one live PI per paymentId across accounts (409 PI_EXISTS, race-free); another client's → 409 CONFLICT; FAILED frees it", async () => {
    const acc = await funded(1000);
    const acc2 = await funded(1000, { tenantId: acc.tenantId });
    const body = piBody(acc, 10);
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => create(owner.token, i % 2 ? body : { ...body, ...acc2 })));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(1);
    expect(rs.filter((r) => r.status === 409 && r.json.error.code === "PI_EXISTS")).toHaveLength(19);
    const committed = (await accountStub(E, acc).snapshot()).committed + (await accountStub(E, acc2).snapshot()).committed;
    expect(committed).toBe(1000);
    const foreign = expectError(await create(other.token, body), 409, "CONFLICT");
    expect(foreign.details).toEqual([]);
    const first = rs.find((r) => r.status === 201)!.json.piId;
    const exists = expectError(await create(owner.token, { ...body, ...acc2 }), 409, "PI_EXISTS");
    expect(exists.details).toEqual([{ piId: first, status: "INITIATED" }]);
    expect((await setStatus(first, "FAILED")).status).toBe(200);
    const again = await create(owner.token, body);
    expect(again.status).toBe(201);
    expect(again.json.piId).not.toBe(first);
  });

  it("without headOfAccount/ssuCode the first account in sorted order with enough funds pays", async () => {
    const tenantId = `pb.auto${crypto.randomUUID().slice(0, 6)}`;
    const a = await funded(50, { tenantId, headOfAccount: "A-100", ssuCode: "SSU-1" });
    const b = await funded(500, { tenantId, headOfAccount: "B-200", ssuCode: "SSU-1" });
    const big = await create(owner.token, piBody({ tenantId }, 100));
    expect(big.status).toBe(201);
    expect((await getPi(big.json.piId)).json).toMatchObject({ headOfAccount: "B-200", ssuCode: "SSU-1" });
    const small = await create(owner.token, piBody({ tenantId }, 40));
    expect((await getPi(small.json.piId)).json.headOfAccount).toBe("A-100");
    const onlyA = await create(owner.token, piBody({ tenantId, headOfAccount: "A-100" }, 20));
    expectError(onlyA, 422, "INSUFFICIENT_FUNDS");
    expect(await accountStub(E, a).snapshot()).toMatchObject({ available: 1000 });
    expect(await accountStub(E, b).snapshot()).toMatchObject({ available: 40000 });
  });

  it("the 101st account of a tenant is found too (issue 10)", async () => {
    const treasury = await createTenantClient(["funds:write", "funds:read"], ["*"], "many accounts"); // its own rate limit
    const tenantId = `pb.many${crypto.randomUUID().slice(0, 6)}`;
    for (let k = 0; k < 101; k += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, 101 - k) }, (_, j) => {
          const n = k + j;
          return allot(
            treasury.token,
            { tenantId, headOfAccount: `H-${String(n).padStart(3, "0")}`, ssuCode: "SSU-1" },
            "INITIAL_ALLOTMENT",
            n === 100 ? 500 : 1,
          ).then((r) => expect(r.status).toBe(201));
        }),
      );
    }
    // Before: only the first 100 accounts were looked at, and this was 422 INSUFFICIENT_FUNDS.
    const r = await create(treasury.token, piBody({ tenantId }, 200));
    expect(r.status).toBe(201);
    expect((await getPi(r.json.piId, treasury.token)).json.headOfAccount).toBe("H-100");
  }, 60_000);

  it("200 concurrent PIs against funds for 150: exactly 150 succeed, available ends at the exact remainder", async () => {
    const busy = await createTenantClient(["funds:write", "funds:read"], ["*"], "busy"); // its own rate limit
    const acc = account();
    expect((await allot(busy.token, acc, "INITIAL_ALLOTMENT", 150 * 7.33 + 3.21)).status).toBe(201);
    const rs = await Promise.all(Array.from({ length: 200 }, () => create(busy.token, piBody(acc, 7.33))));
    const statuses = rs.map((r) => (r.status === 422 ? r.json.error.code : r.status));
    expect(statuses.filter((s) => s === 201)).toHaveLength(150);
    expect(statuses.filter((s) => s === "INSUFFICIENT_FUNDS")).toHaveLength(50);
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 109950, available: 321 });
    await summaryReaches(owner.token, acc, { allotted: 1102.71, committed: 1099.5, available: 3.21 });
    // The projection holds exactly the 150.
    await vi.waitFor(
      async () => {
        const rows = await db.select().from(paymentInstructions).where(eq(paymentInstructions.tenantId, acc.tenantId)).all();
        expect(rows).toHaveLength(150);
        expect(rows.every((r) => r.status === "INITIATED" && r.headOfAccount === acc.headOfAccount)).toBe(true);
      },
      { timeout: 10_000, interval: 100 },
    );
  }, 60_000);

  it("concurrent FAILED callbacks and status calls release the amount exactly once; every call is logged and each status call audited", async () => {
    const acc = await funded(100);
    const r = await create(owner.token, piBody(acc, 60));
    await delivered(r.json.piId); // iFIX has it (callbacks only come then): FAILED is the admin's or iFIX's
    const calls = await Promise.all([
      ...Array.from({ length: 8 }, () => setStatusAsAdmin(r.json.piId, "FAILED", "admin test FAILED")),
      ...Array.from({ length: 8 }, (_, i) => disburseCallback(r.json.piId, i % 2 ? "FAILED" : "REJECTED")),
      ...Array.from({ length: 4 }, () => disburseCallback(r.json.piId, "ERROR")),
    ]);
    expect(calls.map((c) => c.status)).toEqual(Array(20).fill(200));
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0, available: 10000 });
    const view = (await getPi(r.json.piId)).json;
    expect(view.status).toBe("FAILED");
    expect(view.log.filter((l: any) => l.released)).toHaveLength(1);
    expect(view.log.filter((l: any) => l.source === "admin")).toHaveLength(8);
    expect(view.log.filter((l: any) => l.source === "callback")).toHaveLength(12);
    // FAILED is final; the refused call is still logged and audited.
    expectError(await setStatus(r.json.piId, "SUCCESSFUL"), 409, "INVALID_STATE");
    expect((await getPi(r.json.piId)).json.log.at(-1)).toMatchObject({ source: "api", from: "FAILED", to: "SUCCESSFUL", accepted: false });
    await vi.waitFor(
      async () => {
        const audits = await db.select().from(auditLog).where(eq(auditLog.targetId, r.json.piId)).all();
        const overrides = audits.filter((a) => a.action === "funds.pi_status_override");
        expect(overrides).toHaveLength(9);
        expect(overrides.filter((a) => a.actor === "admin")).toHaveLength(8);
        expect(overrides.filter((a) => a.actor === `client:${owner.clientId}`)).toHaveLength(1);
        // The release is one money movement: one audited release, whoever made it.
        const releases = audits.filter((a) => (a.after as { released?: boolean })?.released === true);
        expect(releases).toHaveLength(1);
        expect(audits.filter((a) => a.action === "funds.pi_commit")).toHaveLength(1);
      },
      { timeout: 10_000, interval: 100 },
    );
    await summaryReaches(owner.token, acc, { available: 100 });
  });

  it("maps iFIX statuses: INPROCESS → IN_PROCESS, REJECTED/ERROR → FAILED; paid money never fails back", async () => {
    const acc = await funded(100);
    const a = (await create(owner.token, piBody(acc, 10))).json.piId;
    await delivered(a);
    await disburseCallback(a, "INPROCESS");
    expect((await getPi(a)).json.status).toBe("IN_PROCESS");
    await disburseCallback(a, "PARTIAL");
    expect((await getPi(a)).json.status).toBe("PARTIAL");
    await disburseCallback(a, "ERROR"); // refused: some beneficiaries were paid
    expect((await getPi(a)).json.status).toBe("PARTIAL");
    expectError(await setStatus(a, "FAILED"), 409, "INVALID_STATE");
    await disburseCallback(a, "COMPLETED");
    expect((await getPi(a)).json.status).toBe("COMPLETED");
    const b = (await create(owner.token, piBody(acc, 10))).json.piId;
    await delivered(b);
    await disburseCallback(b, "REJECTED");
    expect((await getPi(b)).json.status).toBe("FAILED");
    const c = (await create(owner.token, piBody(acc, 10))).json.piId;
    expect((await setStatus(c, "APPROVED")).json.status).toBe("APPROVED");
    await delivered(c);
    await disburseCallback(c, "RECEIVED"); // not a PI status: the PI is unchanged (but iFIX has it)
    expect((await getPi(c)).json.status).toBe("APPROVED");
    await summaryReaches(owner.token, acc, { committed: 20, available: 80 });
    expectError(await setStatus(c, "BOGUS"), 400, "VALIDATION_FAILED");
    expectError(await setStatus(c, "FAILED", other.token), 404, "NOT_FOUND");
  });

  it("once iFIX acknowledged the disburse, FAILED takes its callback or the admin key with a reason (issue 10, item 6)", async () => {
    const acc = await funded(100);
    const id2 = (await create(owner.token, piBody(acc, 20))).json.piId;
    await delivered(id2); // iFIX's 202: acknowledged
    await sandbox("GET", `/ifix/__sandbox/callbacks?transactionId=${id2}`); // its own callbacks: not relayed
    // Before: the owner's FAILED was accepted, released the funds and freed the paymentId for a second payment.
    expectError(await setStatus(id2, "FAILED", owner.token, "operator says so"), 409, "INVALID_STATE");
    expectError(await setStatusAsAdmin(id2, "FAILED"), 400, "VALIDATION_FAILED");
    expect((await getPi(id2)).json.status).toBe("INITIATED");
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 2000 });
    const ok = await setStatusAsAdmin(id2, "FAILED", "IFMS confirms the payment was never made");
    expect(ok.status).toBe(200);
    expect(ok.json.status).toBe("FAILED");
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0 });
    // iFIX then reports it paid: final is final, but it is kept and flagged, and an alert is raised.
    const late = await disburseCallback(id2, "SUCCESSFUL");
    expect(late.status).toBe(200);
    const v = (await getPi(id2)).json;
    expect(v.status).toBe("FAILED");
    expect(v.conflict).toMatch(/SUCCESSFUL after FAILED/);
    expect(v.log.at(-1)).toMatchObject({ source: "callback", from: "FAILED", to: "SUCCESSFUL", accepted: false });
    const alert = await env.DB.prepare("SELECT kind, message FROM alerts WHERE subject = ?").bind(id2).first<{ kind: string; message: string }>();
    expect(alert).toMatchObject({ kind: "funds_conflict" });
    const audit = await vi.waitFor(
      async () => {
        const rows = await db.select().from(auditLog).where(eq(auditLog.targetId, id2)).all();
        const admin = rows.find((a) => a.actor === "admin" && (a.after as { accepted?: boolean }).accepted);
        if (!admin) throw new Error("not projected yet");
        return admin;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(audit.after).toMatchObject({ status: "FAILED", reason: "IFMS confirms the payment was never made", released: true });
  });

  it("a later message reusing the PI's id as its transaction_id does not capture the PI's on-disburse (issue 10, item 4)", async () => {
    const acc = await funded(100);
    const id = (await create(owner.token, piBody(acc, 30))).json.piId;
    const v = await delivered(id);
    await sandbox("GET", `/ifix/__sandbox/callbacks?transactionId=${id}`); // the sandbox's own, not relayed
    const raw = await createTenantClient(["fiscal:write", "fiscal:disburse", "fiscal:read"], ["*"], "raw disburser");
    const decoy = await call("POST", "/v1/fiscal/disbursements", {
      token: raw.token,
      body: { name: "decoy", locationCode: acc.tenantId, transactionId: id, netAmount: 30, grossAmount: 30 },
    });
    expect(decoy.status).toBe(202);
    await vi.waitFor(
      async () =>
        expect((await call("GET", `/v1/fiscal/messages/${decoy.json.messageId}`, { token: raw.token })).json.deliveryStatus).toBe("DELIVERED"),
      { timeout: 15_000, interval: 100 },
    );
    // Before: the newest message with that transaction_id (the decoy) took the REJECTED, and the PI's funds stayed committed.
    const byTxn = await disburseCallback(id, "REJECTED");
    expect(byTxn.json.matchedMessageId).toBeNull(); // two threads share it: ambiguous, nothing changes
    expect((await getPi(id)).json.status).toBe("INITIATED");
    // By the PI's message_id (as iFIX answers, reusing the request's id): the PI's.
    const byId = await postCallback(
      "disburse",
      await signedCallback({
        header: callbackHeader({ message_id: v.delivery.messageId }),
        message: { transaction_id: id, status: { status_code: "REJECTED" } },
      }),
    );
    expect(byId.json.matchedMessageId).toBe(v.delivery.messageId);
    expect((await getPi(id)).json.status).toBe("FAILED");
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0 });
  });

  it("follows the sandbox's configured statuses (INPROCESS, FAILED): released once, paymentId free again", async () => {
    await sandbox("PUT", "/ifix/__sandbox/statuses", { type: "disburse", statuses: ["INPROCESS", "FAILED"] });
    try {
      const acc = await funded(100);
      const body = piBody(acc, 30);
      const r = await create(owner.token, body);
      await delivered(r.json.piId);
      const results = await relayCallbacks({ transactionId: r.json.piId });
      expect(results.map((x) => x.json.status)).toEqual(["INPROCESS", "FAILED"]);
      expect((await getPi(r.json.piId)).json.status).toBe("FAILED");
      expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0, available: 10000 });
      expect((await create(owner.token, body)).status).toBe(201);
    } finally {
      await sandbox("PUT", "/ifix/__sandbox/statuses", { type: "disburse", statuses: ["INPROCESS", "SUCCESSFUL"] });
    }
  });

  it("a dead-lettered disburse keeps its funds committed and is listed as stuck until an operator decides", async () => {
    // This file's earlier disburses are delivered first, so the fault below hits only this PI's.
    await vi.waitFor(
      async () => {
        for (const id of made) {
          const d = (await call("GET", `/v1/payment-instructions/${id}`, { admin: true })).json.delivery;
          if (d && ["QUEUED"].includes(d.deliveryStatus)) throw new Error(`${id} still ${d.deliveryStatus}`);
        }
      },
      { timeout: 30_000, interval: 200 },
    );
    await setFaults("ifix", { errorRate: 1, pathPattern: "^/ifix/ifix/v1/disburse" });
    const acc = await funded(100);
    const r = await create(owner.token, piBody(acc, 25));
    const v = await vi.waitFor(
      async () => {
        const x = (await call("GET", `/v1/payment-instructions/${r.json.piId}`, { admin: true })).json;
        if (x.delivery?.deliveryStatus !== "FAILED") throw new Error(`still ${JSON.stringify(x.delivery)}`);
        return x;
      },
      { timeout: 40_000, interval: 200 },
    );
    await vi.waitFor(
      async () => expect(await db.select().from(deadLetters).where(eq(deadLetters.subjectId, v.delivery.messageId)).all()).toHaveLength(1),
      { timeout: 10_000 },
    );
    expect(v).toMatchObject({ status: "INITIATED", delivery: { deliveryStatus: "FAILED", attempts: 8 } });
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 2500 });

    const stuck = await vi.waitFor(
      async () => {
        const s = await call("GET", `/v1/payment-instructions?stuck=true&tenantId=${acc.tenantId}`, { token: ops.token });
        expect(s.json.items.map((i: any) => i.piId)).toEqual([r.json.piId]);
        return s;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(stuck.json.items[0]).toMatchObject({ status: "INITIATED", amount: 25, delivery: { deliveryStatus: "FAILED", attempts: 8 } });
    expect(JSON.stringify(stuck.json)).not.toContain("Asha Devi");

    // Not acknowledged by iFIX: its owner may fail it (CONTRACT §7).
    expect((await setStatus(r.json.piId, "FAILED")).json.status).toBe("FAILED");
    await summaryReaches(owner.token, acc, { committed: 0, available: 100 });
    await vi.waitFor(
      async () =>
        expect((await call("GET", `/v1/payment-instructions?stuck=true&tenantId=${acc.tenantId}`, { token: ops.token })).json.items).toEqual([]),
      { timeout: 10_000, interval: 100 },
    );
  }, 90_000);

  it("lists own PIs for funds:read clients, every client's for ops, with status filter and cursor", async () => {
    const acc = await funded(100);
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push((await create(owner.token, piBody(acc, 1))).json.piId);
    const theirs = (await create(other.token, piBody(acc, 1))).json.piId;
    await vi.waitFor(
      async () => expect((await call("GET", `/v1/payment-instructions?tenantId=${acc.tenantId}`, { token: ops.token })).json.items).toHaveLength(4),
      { timeout: 10_000, interval: 100 },
    );
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

  it("tenants: a client cannot spend, read or move another tenant's funds (issue 14, item 9)", async () => {
    const acc = await funded(100);
    const outsider = await createTenantClient(["funds:write", "funds:read", "ops"], ["pb.elsewhere"], "outside the tenant");
    // Before: any funds:write client could spend any tenant's funds.
    expectError(await create(outsider.token, piBody(acc, 10)), 403, "FORBIDDEN");
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0 });
    const id = (await create(owner.token, piBody(acc, 10))).json.piId;
    // The owner's tenants narrowed: its own PI is out of reach too.
    const narrowed = await createTenantClient(["funds:write", "funds:read"], [acc.tenantId], "narrowed");
    const own = (await create(narrowed.token, piBody(acc, 5))).json.piId;
    expect((await call("PATCH", `/v1/admin/clients/${narrowed.clientId}`, { admin: true, body: { tenants: ["pb.elsewhere"] } })).status).toBe(200);
    expectError(await getPi(own, narrowed.token), 403, "FORBIDDEN");
    expectError(await setStatus(own, "FAILED", narrowed.token), 403, "FORBIDDEN");
    await vi.waitFor(
      async () =>
        expect((await call("GET", `/v1/payment-instructions?tenantId=${acc.tenantId}`, { token: owner.token })).json.items.length).toBeGreaterThan(0),
      { timeout: 10_000 },
    );
    expect(
      (await call("GET", `/v1/payment-instructions?status=INITIATED`, { token: outsider.token })).json.items.map((i: any) => i.piId),
    ).not.toContain(id);
    expectError(await call("GET", `/v1/payment-instructions?tenantId=${acc.tenantId}`, { token: outsider.token }), 403, "FORBIDDEN");
  });

  it("GET pages the PI's log (logLimit, logCursor)", async () => {
    const acc = await funded(10);
    const id = (await create(owner.token, piBody(acc, 1))).json.piId;
    for (let i = 0; i < 5; i++) await setStatus(id, "APPROVED");
    const page1 = (await getPi(id, owner.token, "?logLimit=4")).json;
    expect(page1.logTotal).toBe(6);
    expect(page1.log).toHaveLength(4);
    const page2 = (await getPi(id, owner.token, `?logLimit=4&logCursor=${page1.logNextCursor}`)).json;
    expect(page2.log.map((l: any) => l.to)).toEqual(["INITIATED", "APPROVED"]);
    expect(page2.logNextCursor).toBeNull();
    expectError(await getPi(id, owner.token, "?logLimit=0"), 400, "VALIDATION_FAILED");
  });
});
