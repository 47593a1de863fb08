import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { call, expectError, type TestClient } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
import { createFiscalClient, programInput, waitForDelivery } from "./helpers";

let writer: TestClient;
let other: TestClient;

beforeAll(async () => {
  writer = await createFiscalClient(["fiscal:write", "fiscal:read"], ["*"], "fiscal idempotency writer");
  other = await createFiscalClient(["fiscal:write", "fiscal:read"], ["*"], "fiscal idempotency other");
});

const post = (token: string, body: unknown, key?: string) =>
  call("POST", "/v1/fiscal/programs", { token, body, headers: key === undefined ? {} : { "Idempotency-Key": key } });

/** The gateway's rows for one client and key (the unique index allows one). */
const rowsFor = async (ownerId: string, key: string) =>
  (await env.DB.prepare("SELECT id FROM fiscal_messages WHERE owner_id = ? AND idempotency_key = ?").bind(ownerId, key).all<{ id: string }>())
    .results;

/**
 * The writer's own messages: other files' payment instructions project their disburse rows into the
 * same table at any moment, so a count of the whole table could change under a test by chance.
 */
const ownRows = async () =>
  (await env.DB.prepare("SELECT count(*) AS n FROM fiscal_messages WHERE owner_id = ?").bind(writer.clientId).first<{ n: number }>())!.n;

describe("Idempotency-Key on fiscal sends: a resend after a lost answer makes nothing twice", () => {
  it("the same key and request answer the message the first made (200): one message, delivered", async () => {
    // The resilience bench's case: a caller whose answer a crash swallowed sends again. Before, each
    // resend made a new message (one programme recorded twice at iFIX in that run).
    const key = `prog-${crypto.randomUUID()}`;
    const body = programInput();
    const first = await post(writer.token, body, key);
    expect(first.status).toBe(202);
    const again = await post(writer.token, body, key);
    expect(again.status).toBe(200);
    expect(again.json.messageId).toBe(first.json.messageId);
    expect(await rowsFor(writer.clientId, key)).toEqual([{ id: first.json.messageId }]);
    const delivered = await waitForDelivery(writer.token, first.json.messageId);
    expect(delivered.deliveryStatus).toBe("DELIVERED");
    // At iFIX under its one message_id (a re-send after a slow answer would post the same id again, which iFIX dedupes).
    expect((await sandbox("GET", `/ifix/__sandbox/messages/${first.json.messageId}`)).json.posts).toBeGreaterThanOrEqual(1);
    // Key order and spacing do not matter (the request is compared in its canonical form).
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    expect((await post(writer.token, reordered, key)).json.messageId).toBe(first.json.messageId);
  });

  it("the same key with another request: 409 IDEMPOTENCY_CONFLICT, and nothing is written", async () => {
    const key = `prog-${crypto.randomUUID()}`;
    const first = await post(writer.token, programInput(), key);
    expect(first.status).toBe(202);
    const before = await ownRows();
    const other = await post(writer.token, programInput(), key);
    expectError(other, 409, "IDEMPOTENCY_CONFLICT");
    expect(other.json.error.details).toEqual([{ path: "Idempotency-Key", messageId: first.json.messageId }]);
    expect(await ownRows()).toBe(before);
    expect(await rowsFor(writer.clientId, key)).toHaveLength(1);
  });

  it("five resends at once: one message, one 202, the rest 200 with its id", async () => {
    const key = `prog-${crypto.randomUUID()}`;
    const body = programInput();
    const t0 = Date.now();
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(writer.token, body, key)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 202]);
    const ids = new Set(answers.map((a) => a.json.messageId));
    expect(ids.size).toBe(1);
    expect(await rowsFor(writer.clientId, key)).toHaveLength(1);
    const id = [...ids][0];
    await waitForDelivery(writer.token, id);
    expect((await sandbox("GET", `/ifix/__sandbox/messages/${id}`)).json.posts).toBeGreaterThanOrEqual(1);
    // No outbox row was written for the four that lost (only rows from this test's moment on are looked at).
    const outbox = await env.DB.prepare(
      "SELECT count(*) AS n FROM fiscal_outbox o LEFT JOIN fiscal_messages m ON m.id = o.message_id WHERE m.id IS NULL AND o.created_at >= ?",
    )
      .bind(t0)
      .first<{
        n: number;
      }>();
    expect(outbox!.n).toBe(0);
  });

  it("keys belong to their client; without a key every request is a new message; PATCH takes a key too", async () => {
    const key = `prog-${crypto.randomUUID()}`;
    const body = programInput();
    const mine = await post(writer.token, body, key);
    const theirs = await post(other.token, body, key);
    expect([mine.status, theirs.status]).toEqual([202, 202]);
    expect(theirs.json.messageId).not.toBe(mine.json.messageId);
    const a = await post(writer.token, body);
    const b = await post(writer.token, body);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.json.messageId).not.toBe(b.json.messageId);

    const updKey = `upd-${crypto.randomUUID()}`;
    const path = `/v1/fiscal/programs/${mine.json.messageId}`;
    const update = programInput({ name: "Renamed" });
    const u1 = await call("PATCH", path, { token: writer.token, body: update, headers: { "Idempotency-Key": updKey } });
    const u2 = await call("PATCH", path, { token: writer.token, body: update, headers: { "Idempotency-Key": updKey } });
    expect([u1.status, u2.status]).toEqual([202, 200]);
    expect(u2.json.messageId).toBe(u1.json.messageId);
    // The same key for a create is another request: a conflict, not the update's answer.
    expectError(await post(writer.token, update, updKey), 409, "IDEMPOTENCY_CONFLICT");
  });

  it("a key that is empty, too long or not printable ASCII: 400, nothing written", async () => {
    const before = await ownRows();
    for (const key of ["x".repeat(129), "with space", "tab\tkey", "é-latin1"]) {
      expectError(
        await call("POST", "/v1/fiscal/programs", { token: writer.token, body: programInput(), headers: { "Idempotency-Key": key } }),
        400,
        "VALIDATION_FAILED",
      );
    }
    expectError(
      await call("POST", "/v1/fiscal/programs", { token: writer.token, body: programInput(), headers: { "Idempotency-Key": "" } }),
      400,
      "VALIDATION_FAILED",
    );
    expect(await ownRows()).toBe(before);
  });
});
