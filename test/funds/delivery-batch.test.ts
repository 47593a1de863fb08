import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { call } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
import { accountStub } from "../../src/domain/funds/accounts";
import { deliverPiMessages } from "../../src/domain/fiscal/delivery";
import { consumeFiscalDelivery } from "../../src/queues/fiscal-delivery.consumer";
import type { Env } from "../../src/env";
import { account, allot, createTenantClient, piBody } from "./helpers";

/**
 * A queue batch of PI disburses is delivered together: their D1 rows in one D1 batch before the
 * posts and their outcomes in one after (a local D1 call costs 0.5-1 ms of workerd's one thread);
 * each message still succeeds or fails alone, and none is posted without its row.
 */
const E = env as unknown as Env;
let ownerToken: string;

beforeAll(async () => {
  ownerToken = (await createTenantClient(["funds:write", "funds:read"], ["*"], "delivery batch owner")).token;
});

/** `count` PIs on one funded account whose hand-offs the test takes (it plays the queue). */
async function handOffs(count: number) {
  const acc = account();
  expect((await allot(ownerToken, acc, "INITIAL_ALLOTMENT", 1000)).status).toBe(201);
  const stub = accountStub(E, acc);
  await stub.testHooks({ holdHandoff: true });
  for (let i = 0; i < count; i++) {
    expect((await call("POST", "/v1/payment-instructions", { token: ownerToken, body: piBody(acc, 10) })).status).toBe(201);
  }
  const taken = await stub.testHandOff();
  expect(taken).toHaveLength(count);
  return { stub, taken };
}

/**
 * env.DB as it is, counting the D1 calls (a batch, or a statement's run/first/all/raw) whose SQL
 * touches fiscal_messages; `failRows` makes the first batch that inserts into it fail.
 */
function countingDb(d1: D1Database, opts: { failRows?: boolean } = {}) {
  const counted = { calls: 0 };
  let failRows = opts.failRows ?? false;
  const sqlOf = new WeakMap<object, string>();
  const touches = (st: object) => (sqlOf.get(st) ?? "").includes("fiscal_messages");
  const tag = (st: D1PreparedStatement, sql: string): D1PreparedStatement => {
    sqlOf.set(st, sql);
    const bind = st.bind.bind(st);
    st.bind = (...values: unknown[]) => tag(bind(...values), sql);
    for (const m of ["run", "first", "all", "raw"] as const) {
      const f = (st[m] as (...a: unknown[]) => unknown).bind(st);
      (st as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
        if (touches(st)) counted.calls++;
        return f(...a);
      };
    }
    return st;
  };
  const db = new Proxy(d1, {
    get(target, key) {
      if (key === "prepare") return (sql: string) => tag(target.prepare(sql), sql);
      if (key === "batch")
        return async (stmts: D1PreparedStatement[]) => {
          if (stmts.some(touches)) counted.calls++;
          if (failRows && stmts.some((s) => (sqlOf.get(s) ?? "").startsWith("INSERT INTO fiscal_messages"))) {
            failRows = false;
            throw new Error("test: D1 refused the batch");
          }
          return target.batch(stmts);
        };
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { db, counted };
}

const atIfix = (messageId: string) => sandbox("GET", `/ifix/__sandbox/messages/${messageId}`);
const rowOf = (messageId: string) =>
  E.DB.prepare("SELECT delivery_status AS deliveryStatus, attempts FROM fiscal_messages WHERE id = ?").bind(messageId).first();

/** A MessageBatch as the queue hands it to the consumer, recording each message's ack or retry. */
function queueBatch(bodies: unknown[]) {
  const settled: string[] = bodies.map(() => "pending");
  const messages = bodies.map((body, i) => ({
    id: `m${i}`,
    timestamp: new Date(),
    attempts: 1,
    body,
    ack: () => (settled[i] = "ack"),
    retry: () => (settled[i] = "retry"),
  }));
  const batch = { queue: "amrit-fiscal-delivery", messages, ackAll: () => {}, retryAll: () => {} } as unknown as MessageBatch<unknown>;
  return { batch, settled };
}
const ctx = { waitUntil: () => {}, passThroughOnException: () => {} } as unknown as ExecutionContext;

describe("the fiscal queue delivers a batch of PI disburses together", () => {
  it("three disburses: each posted once, their D1 rows written in one call before the posts and one after (six before)", async () => {
    const { stub, taken } = await handOffs(3);
    const { db, counted } = countingDb(E.DB);
    const { batch, settled } = queueBatch(taken.map((h) => ({ type: "fiscal.deliver-pi", ...h })));
    await consumeFiscalDelivery(batch, { ...E, DB: db }, ctx);
    expect(settled).toEqual(["ack", "ack", "ack"]);
    expect(counted.calls).toBe(2);
    for (const h of taken) {
      expect((await atIfix(h.messageId)).json.posts).toBe(1);
      expect(await rowOf(h.messageId)).toEqual({ deliveryStatus: "DELIVERED", attempts: 1 });
    }
    await stub.testHooks({ holdHandoff: false });
  });

  it("a stale hand-off and an unknown account in the batch are skipped alone; the others are delivered", async () => {
    const { stub, taken } = await handOffs(2);
    const stale = { ...taken[0], token: crypto.randomUUID() };
    const unknown = { ...taken[0], account: "not-an-account-id" };
    const { batch, settled } = queueBatch([stale, taken[0], unknown, taken[1]].map((h) => ({ type: "fiscal.deliver-pi", ...h })));
    await consumeFiscalDelivery(batch, E, ctx);
    // Skipped is done (acked): its owner, the current hand-off, delivers it.
    expect(settled).toEqual(["ack", "ack", "ack", "ack"]);
    for (const h of taken) expect((await atIfix(h.messageId)).json.posts).toBe(1);
    await stub.testHooks({ holdHandoff: false });
  });

  it("D1 refuses the rows: nothing is posted, each attempt is a retry, and the object hands each out again, posted once", async () => {
    const { stub, taken } = await handOffs(2);
    const { db } = countingDb(E.DB, { failRows: true });
    const first = await deliverPiMessages({ ...E, DB: db }, taken);
    expect(first).toEqual([
      { status: "fulfilled", value: "retry" },
      { status: "fulfilled", value: "retry" },
    ]);
    for (const h of taken) expect((await atIfix(h.messageId)).status).toBe(404);
    const again = await stub.testHandOff(Date.now() + 24 * 3600_000);
    expect(again.map((h) => h.messageId).sort()).toEqual(taken.map((h) => h.messageId).sort());
    expect(await deliverPiMessages(E, again)).toEqual([
      { status: "fulfilled", value: "delivered" },
      { status: "fulfilled", value: "delivered" },
    ]);
    for (const h of taken) {
      expect((await atIfix(h.messageId)).json.posts).toBe(1);
      expect(await rowOf(h.messageId)).toEqual({ deliveryStatus: "DELIVERED", attempts: 2 });
    }
    await stub.testHooks({ holdHandoff: false });
  });
});
