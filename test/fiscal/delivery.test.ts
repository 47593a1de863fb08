import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { call, type TestClient } from "../helpers/gateway";
import { clearFaults, sandbox, setFaults } from "../helpers/sandbox";
import { createDb } from "../../src/storage/db";
import { prepareMessage } from "../../src/domain/fiscal/messages";
import { deliverFiscalMessage, MAX_DELAY_MS, retryDelayMs } from "../../src/domain/fiscal/delivery";
import { encodeMessage } from "../../src/adapters/ifix/codec";
import { fiscalOutbox } from "../../src/storage/schema/fiscal-outbox";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { deadLetters } from "../../src/storage/schema/dead-letters";
import { upstreamCalls } from "../../src/storage/schema/upstream-calls";
import { sweepFiscal } from "../../src/cron/fiscal-sweep.job";
import type { Env } from "../../src/env";
import { createFiscalClient, programInput, waitForDelivery } from "./helpers";

let writer: TestClient;
const db = createDb(env.DB);
const IFIX_PATHS = "^/ifix/ifix/v1/";
// The faults of the programme tests reach programme posts only: other files' disburses may still be
// retried against the shared sandbox meanwhile, and would take the seeded draws this test counts on.
const PROGRAM_PATH = "^/ifix/ifix/v1/program$";

beforeAll(async () => {
  writer = await createFiscalClient(["fiscal:write", "fiscal:read"], ["*"], "fiscal delivery");
});
afterEach(async () => {
  await clearFaults();
  await sandbox("PUT", "/ifix/__sandbox/config", { duplicateAnswer: 202 });
});

/** A message in the ledger and outbox that nobody has handed to the queue. */
async function unsentMessage(ownerId: string, createdAt = Date.now()) {
  const prepared = await prepareMessage(env as unknown as Env, db, {
    ownerId,
    type: "program",
    action: "create",
    message: encodeMessage(programInput()),
  });
  await db.batch(prepared.inserts);
  await db.update(fiscalOutbox).set({ createdAt }).where(eq(fiscalOutbox.messageId, prepared.messageId)).run();
  return prepared.messageId;
}

describe("fiscal delivery (queue, retries, outbox)", () => {
  it("backoff doubles from the base with jitter, honours Retry-After, caps at 12 h", () => {
    expect(retryDelayMs(1, 1000, null, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, null, () => 1)).toBe(1000);
    expect(retryDelayMs(3, 1000, null, () => 1)).toBe(4000);
    expect(retryDelayMs(3, 1000, null, () => 0)).toBe(2000);
    expect(retryDelayMs(2, 1000, 30_000, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(60, 1000, null, () => 1)).toBe(MAX_DELAY_MS);
    expect(retryDelayMs(2, 1000, 10 * MAX_DELAY_MS, () => 1)).toBe(MAX_DELAY_MS);
  });

  it("retries 5xx and 429 (with Retry-After) until delivered, and iFIX accepts each message once", async () => {
    // Seeded faults; messages sent one after another so the draws are repeatable (seed 37: 5xx, 429, ok | 429, 5xx, ok).
    await setFaults("ifix", { errorRate: 0.4, rate429: 0.2, retryAfterSeconds: 1, pathPattern: PROGRAM_PATH, seed: 37 });
    const views = [];
    for (let i = 0; i < 2; i++) {
      const r = await call("POST", "/v1/fiscal/programs", { token: writer.token, body: programInput() });
      expect(r.status).toBe(202);
      views.push(await waitForDelivery(writer.token, r.json.messageId, (m) => m.deliveryStatus !== "QUEUED", 40_000));
    }
    expect(views.map((v) => v.deliveryStatus)).toEqual(["DELIVERED", "DELIVERED"]);
    expect(views.every((v) => v.attempts >= 2)).toBe(true);
    const faults = await sandbox("GET", "/__sandbox/faults");
    expect(faults.json.ifix.injected.error).toBeGreaterThan(0);
    expect(faults.json.ifix.injected.rate429).toBeGreaterThan(0);
    for (const v of views) {
      const id = v.messageId;
      expect((await sandbox("GET", `/ifix/__sandbox/messages/${id}`)).json.posts).toBe(1);
      // The call log is written after the answer (waitUntil): wait for the last attempt's row.
      const calls = await vi.waitFor(
        async () => {
          const rows = await db.select().from(upstreamCalls).where(eq(upstreamCalls.subjectId, id)).all();
          expect(rows.length).toBe(v.attempts);
          return rows;
        },
        { timeout: 5_000, interval: 50 },
      );
      expect(calls.every((c) => c.portal === "ifix" && c.operation === "program")).toBe(true);
      expect(calls.filter((c) => c.outcome === "ok")).toHaveLength(1);
      const cbs = await sandbox("GET", `/ifix/__sandbox/callbacks?messageId=${id}`);
      expect(cbs.json.callbacks).toHaveLength(1); // accepted once, answered once
      expect(await db.select().from(fiscalOutbox).where(eq(fiscalOutbox.messageId, id)).all()).toEqual([]);
    }
  }, 60_000);

  it("retries a timeout with the same message_id and content, a fresh message_ts and signature; the portal keeps one message", async () => {
    await setFaults("ifix", { slowRate: 1, slowMs: 2_600, pathPattern: PROGRAM_PATH });
    const r = await call("POST", "/v1/fiscal/programs", { token: writer.token, body: programInput() });
    await vi.waitFor(
      async () => {
        const m = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, r.json.messageId)).get();
        if (!m || m.lastError !== "timeout") throw new Error("no timeout yet");
      },
      { timeout: 15_000, interval: 100 },
    );
    await clearFaults();
    const v = await waitForDelivery(writer.token, r.json.messageId, (m) => m.deliveryStatus === "DELIVERED", 20_000);
    expect(v.attempts).toBeGreaterThanOrEqual(2);
    const got = await vi.waitFor(
      async () => {
        const g = (await sandbox("GET", `/ifix/__sandbox/messages/${r.json.messageId}`)).json;
        expect(g.posts).toBeGreaterThanOrEqual(2);
        return g;
      },
      { timeout: 5_000 },
    );
    expect(got.lastHeader.message_id).toBe(got.header.message_id);
    // The timed-out first post reaches the sandbox's handler only after its injected delay, so it may
    // be recorded after the re-send: compare the two without assuming which came first. The re-send
    // leaves at least the 2 s timeout later, so its message_ts (seconds) and signature differ.
    expect(got.lastHeader.message_ts).not.toBe(got.header.message_ts);
    expect(got.lastSignature).not.toBe(got.signature);
    const cbs = await sandbox("GET", `/ifix/__sandbox/callbacks?messageId=${r.json.messageId}`);
    expect(cbs.json.callbacks).toHaveLength(1);
  });

  it("a duplicate queue message claims nothing: one post for two concurrent deliveries", async () => {
    const id = await unsentMessage(writer.clientId);
    const results = await Promise.all([deliverFiscalMessage(env as unknown as Env, id, 0), deliverFiscalMessage(env as unknown as Env, id, 0)]);
    expect(results.sort()).toEqual(["delivered", "skipped"]);
    expect((await sandbox("GET", `/ifix/__sandbox/messages/${id}`)).json.posts).toBe(1);
    expect(await deliverFiscalMessage(env as unknown as Env, id, 1)).toBe("skipped"); // outbox row is gone
  });

  it("gives up after DELIVERY_MAX_ATTEMPTS: FAILED, dead-lettered once, outbox cleared", async () => {
    const small = { ...env, DELIVERY_MAX_ATTEMPTS: "2" } as unknown as Env;
    const id = await unsentMessage(writer.clientId);
    await setFaults("ifix", { errorRate: 1, pathPattern: IFIX_PATHS });
    expect(await deliverFiscalMessage(small, id, 0)).toBe("retry");
    expect(await deliverFiscalMessage(small, id, 1)).toBe("failed");
    const m = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, id)).get();
    expect(m).toMatchObject({ deliveryStatus: "FAILED", status: "FAILED", attempts: 2 });
    expect(await db.select().from(fiscalOutbox).where(eq(fiscalOutbox.messageId, id)).all()).toEqual([]);
    await vi.waitFor(
      async () => {
        const dl = await db.select().from(deadLetters).where(eq(deadLetters.subjectId, id)).all();
        expect(dl).toHaveLength(1);
        expect(dl[0]).toMatchObject({ kind: "fiscal.deliver", id: `fiscal:${id}` });
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it("a local failure (a stored body that no longer opens) counts as an attempt and ends FAILED, never a loop", async () => {
    const one = { ...env, DELIVERY_MAX_ATTEMPTS: "1" } as unknown as Env;
    const id = await unsentMessage(writer.clientId);
    await db.update(fiscalMessages).set({ wireBody: "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }).where(eq(fiscalMessages.id, id)).run();
    expect(await deliverFiscalMessage(one, id, 0)).toBe("failed");
    const m = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, id)).get();
    expect(m).toMatchObject({ deliveryStatus: "FAILED", attempts: 1 });
    expect(m!.lastError).toMatch(/^local error/);
    expect((await sandbox("GET", `/ifix/__sandbox/messages/${id}`)).status).toBe(404);
  });

  it("a 4xx from iFIX is not retried: REJECTED and dead-lettered", async () => {
    const id = await unsentMessage(writer.clientId);
    // Corrupt the stored signature's input: sign with the right key but tamper the sealed body? Simpler:
    // an unknown sender makes the sandbox answer 401 with the seed's error shape.
    const other = { ...env, IFIX_SENDER_ID: "amrit@unknown.example" } as unknown as Env;
    const prepared = await prepareMessage(other, db, {
      ownerId: writer.clientId,
      type: "program",
      action: "create",
      message: encodeMessage(programInput()),
    });
    await db.batch(prepared.inserts);
    expect(await deliverFiscalMessage(env as unknown as Env, prepared.messageId, 0)).toBe("rejected");
    const m = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, prepared.messageId)).get();
    expect(m).toMatchObject({ deliveryStatus: "REJECTED", lastHttpStatus: 401 });
    expect(m!.lastError).toContain("INVALID_SIGNATURE");
    expect(await deliverFiscalMessage(env as unknown as Env, id, 0)).toBe("delivered");
  });

  it("iFIX's 409 to a re-send is delivery (it has the message); to a first attempt it is a refusal (issue 10)", async () => {
    await sandbox("PUT", "/ifix/__sandbox/config", { duplicateAnswer: 409 });
    const id = await unsentMessage(writer.clientId);
    expect(await deliverFiscalMessage(env as unknown as Env, id, 0)).toBe("delivered");
    // The same message out again after a timed-out attempt (attempt 2): iFIX answers 409.
    await db.insert(fiscalOutbox).values({ messageId: id, attempt: 1, leaseUntil: null, createdAt: Date.now() }).run();
    await db.update(fiscalMessages).set({ deliveryStatus: "QUEUED" }).where(eq(fiscalMessages.id, id)).run();
    expect(await deliverFiscalMessage(env as unknown as Env, id, 1)).toBe("delivered");
    expect(await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, id)).get()).toMatchObject({
      deliveryStatus: "DELIVERED",
      lastHttpStatus: 409,
    });
    // On a first attempt nothing of ours can have reached iFIX: its 409 is a refusal.
    await db.insert(fiscalOutbox).values({ messageId: id, attempt: 0, leaseUntil: null, createdAt: Date.now() }).run();
    await db.update(fiscalMessages).set({ deliveryStatus: "QUEUED" }).where(eq(fiscalMessages.id, id)).run();
    expect(await deliverFiscalMessage(env as unknown as Env, id, 0)).toBe("rejected");
  });

  it("the sweep re-sends what was never sent and what outlived its lease", async () => {
    const never = await unsentMessage(writer.clientId, Date.now() - 5 * 60_000);
    const leased = await unsentMessage(writer.clientId, Date.now() - 5 * 60_000);
    await db
      .update(fiscalOutbox)
      .set({ attempt: 1, leaseUntil: Date.now() - 1 })
      .where(eq(fiscalOutbox.messageId, leased))
      .run();
    const fresh = await unsentMessage(writer.clientId); // within its grace period: left alone
    await sweepFiscal(env as unknown as Env);
    await waitForDelivery(writer.token, never, (m) => m.deliveryStatus === "DELIVERED");
    const v = await waitForDelivery(writer.token, leased, (m) => m.deliveryStatus === "DELIVERED");
    expect(v.attempts).toBe(2);
    const f = await db.select().from(fiscalOutbox).where(eq(fiscalOutbox.messageId, fresh)).get();
    expect(f?.leaseUntil).toBeNull();
    expect((await sandbox("GET", `/ifix/__sandbox/messages/${fresh}`)).status).toBe(404);
    await db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, fresh)).run();
  });
});
