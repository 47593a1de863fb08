import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { call, expectError, type TestClient } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
import { createDb } from "../../src/storage/db";
import { accountStub } from "../../src/domain/funds/accounts";
import { actorOfPrincipal, createPaymentInstruction } from "../../src/domain/funds/payment-instructions";
import { deliverPiMessage } from "../../src/domain/fiscal/delivery";
import { registryFor, type FundsRegistry } from "../../src/durable-objects/funds-registry";
import type { FundsAccount } from "../../src/durable-objects/funds-account";
import { sweepFiscal } from "../../src/cron/fiscal-sweep.job";
import { toPaise } from "../../src/adapters/ifix/codec";
import type { Env } from "../../src/env";
import { account, allot, createTenantClient, piBody, type Account } from "./helpers";

/**
 * One test per step boundary of a payment instruction's life: the work is killed between two steps
 * (a Durable Object aborted by a test hook, or a consumer that stops), and the test proves that it
 * converges: funds committed and the disburse at iFIX exactly once, or never committed.
 *
 *   request: seal → registry claims the paymentId → account commits (funds + PI + outbox) → registry settles
 *   account: alarm projects to D1 → leases the outbox entry → sendBatch to FISCAL_DELIVERY
 *   consumer: takes the attempt → posts to iFIX → reports the outcome to the account
 */
const E = env as unknown as Env;
const db = createDb(env.DB);
let owner: TestClient;

beforeAll(async () => {
  owner = await createTenantClient(["funds:write", "funds:read"], ["*"], "crash owner");
});
afterEach(async () => {
  await sandbox("PUT", "/ifix/__sandbox/config", { duplicateAnswer: 202 });
});

async function funded(amount: number) {
  const acc = account();
  expect((await allot(owner.token, acc, "INITIAL_ALLOTMENT", amount)).status).toBe(201);
  return acc;
}

const who = () => actorOfPrincipal({ kind: "client", id: owner.clientId, tenants: ["*"] });
const input = (acc: Account, rupees: number, paymentId = `PAY/${crypto.randomUUID()}`) => {
  const b = piBody(acc, rupees, { paymentId });
  return { ...b, amount: toPaise(rupees), beneficiaries: b.beneficiaries.map((x) => ({ ...x, amount: toPaise(x.amount) })) } as Parameters<
    typeof createPaymentInstruction
  >[3];
};
const viewOf = (piId: string) => call("GET", `/v1/payment-instructions/${piId}`, { admin: true });
const atIfix = (messageId: string) => sandbox("GET", `/ifix/__sandbox/messages/${messageId}`);
const deliveredOnce = async (piId: string) => {
  const v = await vi.waitFor(
    async () => {
      const x = (await viewOf(piId)).json;
      if (x?.delivery?.deliveryStatus !== "DELIVERED") throw new Error(`not yet ${JSON.stringify(x?.delivery)}`);
      return x;
    },
    { timeout: 15_000, interval: 100 },
  );
  const got = (await atIfix(v.delivery.messageId)).json;
  expect(got.message.transaction_id).toBe(piId);
  return { view: v, atIfix: got };
};
/** The paymentId's PIs across the given accounts' objects. */
async function pisOf(paymentId: string, accounts: Account[]) {
  const out: { piId: string; status: string }[] = [];
  for (const a of accounts) {
    const rows = await runInDurableObject(accountStub(E, a), async (_i: FundsAccount, s) =>
      s.storage.sql.exec<{ pi_id: string; status: string }>("SELECT pi_id, status FROM pis WHERE payment_id = ?", paymentId).toArray(),
    );
    out.push(...rows.map((r) => ({ piId: r.pi_id, status: r.status })));
  }
  return out;
}

describe("a payment instruction converges after a crash at any step", () => {
  it("registry dies after claiming the paymentId, before any account: nothing committed; the retry succeeds at once", async () => {
    const acc = await funded(100);
    const i = input(acc, 10);
    await expect(createPaymentInstruction(E, db, who(), i, null, { crash: "after-claim" })).rejects.toThrow();
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0 });
    // The next request for the paymentId settles the dead claim itself (not a 409 until a sweep).
    const r = await call("POST", "/v1/payment-instructions", { token: owner.token, body: { ...piBody(acc, 10), paymentId: i.paymentId } });
    expect(r.status).toBe(201);
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 1000 });
    await deliveredOnce(r.json.piId);
  });

  it("an account unreachable while committing (a transient failure) does not block the paymentId (issue 10)", async () => {
    const acc = await funded(100);
    const i = input(acc, 10);
    await expect(createPaymentInstruction(E, db, who(), i, null, { crash: "account-throws" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    // Before: the reservation stayed RESERVED and the same paymentId was 409 PI_EXISTS until the sweep.
    const r = await call("POST", "/v1/payment-instructions", { token: owner.token, body: { ...piBody(acc, 10), paymentId: i.paymentId } });
    expect(r.status).toBe(201);
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 1000 });
  });

  it("registry dies after the account committed, before settling: the PI stands, its disburse goes out once, the retry is 409 PI_EXISTS", async () => {
    const acc = await funded(100);
    const i = input(acc, 10);
    await expect(createPaymentInstruction(E, db, who(), i, null, { crash: "after-commit" })).rejects.toThrow();
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 1000 });
    const [pi] = await pisOf(i.paymentId, [acc]);
    expect(pi.status).toBe("INITIATED");
    const retry = await call("POST", "/v1/payment-instructions", { token: owner.token, body: { ...piBody(acc, 10), paymentId: i.paymentId } });
    const e = expectError(retry, 409, "PI_EXISTS");
    expect(e.details).toEqual([{ piId: pi.piId, status: "INITIATED" }]);
    const { atIfix: got } = await deliveredOnce(pi.piId);
    expect(got.posts).toBe(1);
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 1000 });
  });

  it("the registry's alarm settles a dead claim by itself: a commit that happened is kept, one that did not is tombstoned", async () => {
    const acc = await funded(100);
    const i = input(acc, 10);
    await expect(createPaymentInstruction(E, db, who(), i, null, { crash: "after-claim" })).rejects.toThrow();
    const registry = registryFor(E, "pay", i.paymentId);
    await runInDurableObject(registry, async (_r: FundsRegistry, s) => {
      s.storage.sql.exec("UPDATE payments SET created_at = created_at - 60000 WHERE payment_id = ?", i.paymentId);
    });
    expect(await runDurableObjectAlarm(registry)).toBe(true);
    const left = await runInDurableObject(registry, async (_r: FundsRegistry, s) =>
      s.storage.sql.exec("SELECT * FROM payments WHERE payment_id = ?", i.paymentId).toArray(),
    );
    expect(left).toEqual([]);
    // The candidate's piId is tombstoned: a commit arriving this late is refused.
    const late = await runInDurableObject(accountStub(E, acc), async (_a: FundsAccount, s) =>
      s.storage.sql.exec<{ status: string }>("SELECT status FROM pis WHERE status = 'ABANDONED'").toArray(),
    );
    expect(late).toHaveLength(1);
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0 });
  });

  it("the registry keeps a success's settlement in memory (no second write before answering): lost with the instance, it is found again", async () => {
    const acc = await funded(100);
    const i = input(acc, 10);
    const created = await createPaymentInstruction(E, db, who(), i, null);
    await evictDurableObject(registryFor(E, "pay", i.paymentId));
    const retry = await call("POST", "/v1/payment-instructions", { token: owner.token, body: { ...piBody(acc, 10), paymentId: i.paymentId } });
    expect(expectError(retry, 409, "PI_EXISTS").details).toEqual([{ piId: created.piId, status: "INITIATED" }]);
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 1000 });
  });

  it("the account dies right after its commit: the registry finds the commit (abandonPi) and the request succeeds", async () => {
    const acc = await funded(100);
    await accountStub(E, acc).testHooks({ crashAt: "after-commit" });
    const r = await call("POST", "/v1/payment-instructions", { token: owner.token, body: piBody(acc, 10) });
    expect(r.status).toBe(201);
    await deliveredOnce(r.json.piId);
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 1000 });
  });

  it("issue 10 item 1: the commit's D1 projection is lost; a sweep before two minutes re-projects, and the disburse is still sent once", async () => {
    const acc = await funded(100);
    const stub = accountStub(E, acc);
    await stub.testHooks({ failProjections: 5 });
    const body = piBody(acc, 10);
    const r = await call("POST", "/v1/payment-instructions", { token: owner.token, body });
    expect(r.status).toBe(201);
    // The disburse does not wait for D1: the outbox is the object's.
    const { atIfix: got } = await deliveredOnce(r.json.piId);
    expect(got.posts).toBe(1);
    // Before: a re-projection before the reservation was 2 minutes old made the row INITIATED with no
    // disburse ever signed, the funds committed for ever and the paymentId blocked.
    await stub.testHooks({ failProjections: 0 });
    await sweepFiscal(E);
    await vi.waitFor(
      async () =>
        expect(await env.DB.prepare("SELECT status FROM payment_instructions WHERE pi_id = ?").bind(r.json.piId).first()).toMatchObject({
          status: "INITIATED",
        }),
      { timeout: 15_000, interval: 100 },
    );
    expectError(await call("POST", "/v1/payment-instructions", { token: owner.token, body }), 409, "PI_EXISTS");
    expect(await stub.snapshot()).toMatchObject({ committed: 1000 });
    expect((await atIfix(got.messageId)).json.posts).toBe(1);
  });

  it("the account dies after leasing the outbox entry, before handing it to the queue: the lease runs out and it is handed again, once", async () => {
    const acc = await funded(100);
    // A stub whose object aborted is broken: each step asks through a fresh one.
    const stub = () => accountStub(E, acc);
    await stub().testHooks({ crashAt: "after-handoff-lease" });
    const r = await call("POST", "/v1/payment-instructions", { token: owner.token, body: piBody(acc, 10) });
    expect(r.status).toBe(201);
    const messageId = (await viewOf(r.json.piId)).json.delivery.messageId;
    await vi.waitFor(
      async () => {
        const s = await runInDurableObject(
          stub(),
          async (_a: FundsAccount, st) =>
            st.storage.sql.exec<{ state: string }>("SELECT state FROM outbox WHERE message_id = ?", messageId).one().state,
        );
        expect(s).toBe("leased");
      },
      { timeout: 5_000, interval: 50 },
    );
    expect((await atIfix(messageId)).status).toBe(404);
    // Five minutes later (the lease): the alarm hands it out again.
    await runInDurableObject(stub(), async (_a: FundsAccount, st) =>
      st.storage.sql.exec("UPDATE outbox SET lease_until = ? WHERE message_id = ?", Date.now() - 1, messageId),
    );
    await stub().kick();
    const { atIfix: got } = await deliveredOnce(r.json.piId);
    expect(got.posts).toBe(1);
  });

  it("the consumer dies after taking the attempt, before posting: handed again, posted once", async () => {
    const acc = await funded(100);
    const stub = accountStub(E, acc);
    await stub.testHooks({ holdHandoff: true });
    const r = await call("POST", "/v1/payment-instructions", { token: owner.token, body: piBody(acc, 10) });
    const [h] = await stub.testHandOff();
    await expect(deliverPiMessage(E, h, undefined, "after-take")).rejects.toThrow();
    expect((await atIfix(h.messageId)).status).toBe(404);
    // A duplicate of the dead hand-off's queue message takes nothing.
    expect(await deliverPiMessage(E, h)).toBe("skipped");
    expect(await stub.testHandOff(Date.now())).toEqual([]); // its lease still runs
    const [again] = await stub.testHandOff(Date.now() + 10 * 60_000);
    expect(again.token).not.toBe(h.token);
    expect(await deliverPiMessage(E, again)).toBe("delivered");
    expect((await atIfix(h.messageId)).json.posts).toBe(1);
    const v = (await viewOf(r.json.piId)).json;
    expect(v.delivery).toMatchObject({ deliveryStatus: "DELIVERED", attempts: 2 });
    await stub.testHooks({ holdHandoff: false });
  });

  it("the consumer dies after iFIX accepted the post: the re-send carries the same message_id with a fresh message_ts and signature, and iFIX keeps it once", async () => {
    // The sandbox's counters are shared with every file that talks to iFIX: compare with before.
    const conflictsBefore = (await sandbox("GET", "/ifix/__sandbox/counters")).json.conflicts;
    const acc = await funded(100);
    const stub = accountStub(E, acc);
    await stub.testHooks({ holdHandoff: true });
    const r = await call("POST", "/v1/payment-instructions", { token: owner.token, body: piBody(acc, 10) });
    const [h] = await stub.testHandOff();
    await expect(deliverPiMessage(E, h, undefined, "after-post")).rejects.toThrow();
    const first = (await atIfix(h.messageId)).json;
    expect(first.posts).toBe(1);
    await new Promise((res) => setTimeout(res, 1_100)); // message_ts counts seconds: the re-send's must differ
    const [again] = await stub.testHandOff(Date.now() + 10 * 60_000);
    expect(await deliverPiMessage(E, again)).toBe("delivered");
    const got = (await atIfix(h.messageId)).json;
    expect(got.posts).toBe(2);
    expect(got.lastHeader.message_id).toBe(first.header.message_id);
    expect(got.lastHeader.message_ts).toBeGreaterThan(first.header.message_ts);
    expect(got.lastSignature).not.toBe(first.signature);
    const counters = (await sandbox("GET", "/ifix/__sandbox/counters")).json;
    expect(counters.conflicts).toBe(conflictsBefore);
    expect((await viewOf(r.json.piId)).json.delivery).toMatchObject({ deliveryStatus: "DELIVERED", attempts: 2 });
    await stub.testHooks({ holdHandoff: false });
  });

  it("iFIX answering 409 to the re-send of a message it already has counts as delivered, not REJECTED (issue 10)", async () => {
    await sandbox("PUT", "/ifix/__sandbox/config", { duplicateAnswer: 409 });
    const acc = await funded(100);
    const stub = accountStub(E, acc);
    await stub.testHooks({ holdHandoff: true });
    const r = await call("POST", "/v1/payment-instructions", { token: owner.token, body: piBody(acc, 10) });
    const [h] = await stub.testHandOff();
    await expect(deliverPiMessage(E, h, undefined, "after-post")).rejects.toThrow(); // e.g. the answer timed out
    const [again] = await stub.testHandOff(Date.now() + 10 * 60_000);
    // Before: the 409 made the message REJECTED and dead-lettered.
    expect(await deliverPiMessage(E, again)).toBe("delivered");
    const v = (await viewOf(r.json.piId)).json;
    expect(v.delivery).toMatchObject({ deliveryStatus: "DELIVERED", attempts: 2 });
    expect(v.delivery.lastError).toMatch(/already had this message_id/);
    await stub.testHooks({ holdHandoff: false });
  });
});
