import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { exportJWK, exportSPKI, generateKeyPair } from "jose";
import { call, expectError, type TestClient } from "../helpers/gateway";
import { createDb } from "../../src/storage/db";
import { receiveCallback } from "../../src/domain/fiscal/callbacks";
import { importVerifyKey, KeyFormatError } from "../../src/adapters/ifix/keys";
import { GatewayError } from "../../src/errors";
import type { Env } from "../../src/env";
import { callbackHeader, createFiscalClient, postCallback, programInput, signedCallback, waitForDelivery } from "./helpers";

/**
 * Every test makes its own outgoing message and asserts only on it (issue 14, item 3): the file
 * passes in any order and with storage shared with other files.
 */
let writer: TestClient;

beforeAll(async () => {
  writer = await createFiscalClient(["fiscal:write", "fiscal:read"], ["*"], "fiscal callbacks");
});

/** A delivered allocation of this test's own, with its own transaction and linked ids. */
async function sentAllocation(token = writer.token, over: Record<string, unknown> = {}) {
  const transactionId = `TXN/${crypto.randomUUID()}`;
  const sent = await call("POST", "/v1/fiscal/allocations", {
    token,
    body: { ...programInput(), transactionId, linkedId: `linked:${transactionId}`, netAmount: 10, grossAmount: 10, ...over },
  });
  expect(sent.status).toBe(202);
  await waitForDelivery(token, sent.json.messageId);
  return { messageId: sent.json.messageId as string, transactionId, linkedId: `linked:${transactionId}` };
}

const message = (transactionId: string, status = "APPROVED", extra: Record<string, unknown> = {}) => ({
  name: "Allocation",
  transaction_id: transactionId,
  net_amount: 10,
  status: { status_code: status, status_message: "ok" },
  ...extra,
});

async function viewOf(messageId: string, token = writer.token) {
  return (await call("GET", `/v1/fiscal/messages/${messageId}`, { token })).json as { status: string; callbacks: any[] };
}

describe("iFIX callbacks: signature, de-duplication, freshness (CONTRACT §7)", () => {
  it("accepts a correctly signed callback and applies its status", async () => {
    const m = await sentAllocation();
    const body = await signedCallback({ header: callbackHeader(), message: message(m.transactionId, "APPROVED") });
    const r = await postCallback("allocation", body);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ acknowledged: true, messageId: body.header.message_id, matchedMessageId: m.messageId, status: "APPROVED" });
    expect((await viewOf(m.messageId)).status).toBe("APPROVED");
  });

  it("401 BAD_SIGNATURE for a tampered header, message or signature, a wrong key, an unknown sender — and none changes anything", async () => {
    const m = await sentAllocation();
    const good = await signedCallback({ header: callbackHeader(), message: message(m.transactionId, "REJECTED") });
    expectError(
      await postCallback("allocation", { ...good, header: { ...good.header, message_ts: Number(good.header.message_ts) + 1 } }),
      401,
      "BAD_SIGNATURE",
    );
    expectError(await postCallback("allocation", { ...good, message: { ...good.message, net_amount: 11 } }), 401, "BAD_SIGNATURE");
    const sig = good.signature;
    expectError(
      await postCallback("allocation", { ...good, signature: sig.slice(0, 10) + (sig[10] === "A" ? "B" : "A") + sig.slice(11) }),
      401,
      "BAD_SIGNATURE",
    );
    expectError(await postCallback("allocation", { ...good, signature: "not base64!!" }), 401, "BAD_SIGNATURE");
    expectError(await postCallback("allocation", { header: good.header, message: good.message }), 401, "BAD_SIGNATURE");
    const stranger = await generateKeyPair("RS256", { modulusLength: 2048 });
    expectError(
      await postCallback(
        "allocation",
        await signedCallback({ header: callbackHeader(), message: message(m.transactionId, "REJECTED") }, { key: stranger.privateKey as CryptoKey }),
      ),
      401,
      "BAD_SIGNATURE",
    );
    const unknown = await signedCallback({
      header: callbackHeader({ sender_id: "ifix@https://unknown.example" }),
      message: message(m.transactionId, "REJECTED"),
    });
    expectError(await postCallback("allocation", unknown), 401, "BAD_SIGNATURE");
    const after = await viewOf(m.messageId);
    expect(after.status).toBe("RECEIVED");
    expect(after.callbacks).toEqual([]);
  });

  it("de-duplicates on sender + message_id + content: the first answer again, no second effect; new content is a new update", async () => {
    const m = await sentAllocation();
    const header = callbackHeader();
    const first = await signedCallback({ header, message: message(m.transactionId, "INPROCESS") });
    const a = await postCallback("allocation", first);
    // Re-sent with keys in another order and new whitespace: the same content.
    const reordered = JSON.stringify({ message: first.message, signature: first.signature, header: first.header }, null, 2);
    const b = await call("POST", "/ifix/v1/on-allocation", { rawBody: reordered, headers: { "Content-Type": "application/json" } });
    expect(b.status).toBe(200);
    expect(b.json).toEqual(a.json);
    expect((await viewOf(m.messageId)).callbacks).toHaveLength(1);
    // The same message_id with new content is a new status update (iFIX reuses ids).
    const update = await signedCallback({
      header: { ...header, message_ts: header.message_ts + 1 },
      message: message(m.transactionId, "SUCCESSFUL"),
    });
    expect((await postCallback("allocation", update)).json.status).toBe("SUCCESSFUL");
    const after = await viewOf(m.messageId);
    expect(after.status).toBe("SUCCESSFUL");
    expect(after.callbacks.map((c) => c.status)).toEqual(["INPROCESS", "SUCCESSFUL"]);
  });

  it("a replay seen before answers 200 even when old; a new stale message is 401 STALE_MESSAGE", async () => {
    const m = await sentAllocation();
    const seen = await signedCallback({ header: callbackHeader(), message: message(m.transactionId, "SUCCESSFUL", { note: "replay" }) });
    expect((await postCallback("allocation", seen)).status).toBe(200);
    expect((await postCallback("allocation", seen)).status).toBe(200);
    const old = await signedCallback({
      header: callbackHeader({ message_ts: Math.floor(Date.now() / 1000) - 10 * 60 }),
      message: message(m.transactionId, "FAILED"),
    });
    expectError(await postCallback("allocation", old), 401, "STALE_MESSAGE");
    const future = await signedCallback({
      header: callbackHeader({ message_ts: Math.floor(Date.now() / 1000) + 6 * 60 }),
      message: message(m.transactionId, "FAILED"),
    });
    expectError(await postCallback("allocation", future), 401, "STALE_MESSAGE");
    // A stale message with a bad signature is a bad signature first.
    expectError(await postCallback("allocation", { ...old, signature: seen.signature }), 401, "BAD_SIGNATURE");
    expect((await viewOf(m.messageId)).status).toBe("SUCCESSFUL");
  });

  it("is liberal in the header: ms or s, number or numeric string, extra fields", async () => {
    const m = await sentAllocation();
    const ms = await signedCallback({ header: callbackHeader({ message_ts: Date.now() }), message: message(m.transactionId, "INPROCESS", { n: 1 }) });
    expect((await postCallback("allocation", ms)).status).toBe(200);
    const str = await signedCallback({
      header: callbackHeader({ message_ts: String(Math.floor(Date.now() / 1000)) }),
      message: message(m.transactionId, "INPROCESS", { n: 2 }),
    });
    expect((await postCallback("allocation", str)).status).toBe(200);
    const extra = await signedCallback({
      header: callbackHeader({ message_type: "allocation", is_msg_encrypted: false }),
      message: message(m.transactionId, "INPROCESS", { n: 3 }),
    });
    expect((await postCallback("allocation", extra)).status).toBe(200);
    const nonsense = await signedCallback({
      header: callbackHeader({ message_ts: "yesterday" }),
      message: message(m.transactionId, "INPROCESS", { n: 4 }),
    });
    expectError(await postCallback("allocation", nonsense), 401, "STALE_MESSAGE");
    expect((await viewOf(m.messageId)).callbacks).toHaveLength(3);
  });

  it("statuses never move backwards: a backward callback is kept in the history and changes nothing", async () => {
    const m = await sentAllocation();
    for (const [i, s] of ["INPROCESS", "SUCCESSFUL", "INPROCESS", "FAILED", "COMPLETED", "APPROVED"].entries()) {
      expect(
        (await postCallback("allocation", await signedCallback({ header: callbackHeader(), message: message(m.transactionId, s, { i }) }))).status,
      ).toBe(200);
    }
    const v = await viewOf(m.messageId);
    expect(v.status).toBe("COMPLETED");
    expect(v.callbacks.map((c) => c.status)).toEqual(["INPROCESS", "SUCCESSFUL", "INPROCESS", "FAILED", "COMPLETED", "APPROVED"]);
  });
});

describe("which message a callback updates (CONTRACT v3 §7, issue 10 item 4)", () => {
  it("by message_id when it is one the gateway sent to that sender, else transaction_id, else linked_id", async () => {
    const m = await sentAllocation();
    const byLinked = await signedCallback({ header: callbackHeader(), message: { linked_id: m.linkedId, status: { status_code: "APPROVED" } } });
    expect((await postCallback("allocation", byLinked)).json.matchedMessageId).toBe(m.messageId);
    const other = await sentAllocation();
    // message_id first: it names `m` although its transaction_id is `other`'s.
    const byId = await signedCallback({ header: callbackHeader({ message_id: m.messageId }), message: message(other.transactionId, "COMPLETED") });
    expect((await postCallback("allocation", byId)).json.matchedMessageId).toBe(m.messageId);
    expect((await viewOf(m.messageId)).callbacks.map((c) => c.matchedBy)).toEqual(["linked_id", "message_id"]);
    expect((await viewOf(other.messageId)).status).toBe("RECEIVED");
    const none = await signedCallback({ header: callbackHeader(), message: { transaction_id: "NOPE/1", status: { status_code: "FAILED" } } });
    const n = await postCallback("allocation", none);
    expect(n.status).toBe(200);
    expect(n.json.matchedMessageId).toBeNull();
  });

  it("two clients' messages with the same transaction_id: ambiguous, neither changes (before: the newest, another client's, did)", async () => {
    const other = await createFiscalClient(["fiscal:write", "fiscal:read"], ["*"], "same numbering");
    const transactionId = `SHARED/${crypto.randomUUID()}`;
    const mine = await sentAllocation(writer.token, { transactionId });
    const theirs = await sentAllocation(other.token, { transactionId });
    const cb = await postCallback("allocation", await signedCallback({ header: callbackHeader(), message: message(transactionId, "REJECTED") }));
    expect(cb.json.matchedMessageId).toBeNull();
    expect((await viewOf(mine.messageId)).status).toBe("RECEIVED");
    expect((await viewOf(theirs.messageId, other.token)).status).toBe("RECEIVED");
    // An update of one's own message is the same thread: the newest of it answers.
    const upd = await call("PATCH", `/v1/fiscal/allocations/${mine.messageId}`, {
      token: writer.token,
      body: { ...programInput(), transactionId: `MINE/${crypto.randomUUID()}`, netAmount: 10, grossAmount: 10 },
    });
    expect(upd.status).toBe(202);
  });

  it("a trusted sender cannot update messages the gateway sent to another receiver", async () => {
    const m = await sentAllocation();
    const mallory = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
    const E = {
      ...env,
      IFIX_TRUSTED_KEYS: JSON.stringify({
        ...JSON.parse(env.IFIX_TRUSTED_KEYS!),
        "ifix@https://another-receiver.example": [await exportSPKI(mallory.publicKey)],
      }),
    } as unknown as Env;
    const db = createDb(env.DB);
    const body = await signedCallback(
      {
        header: callbackHeader({ sender_id: "ifix@https://another-receiver.example", message_id: m.messageId }),
        message: message(m.transactionId, "REJECTED"),
      },
      { key: mallory.privateKey as CryptoKey },
    );
    const r = await receiveCallback(E, db, "allocation", body);
    // Before: a trusted sender could update any receiver's messages.
    expect(r.matchedMessageId).toBeNull();
    expect((await viewOf(m.messageId)).status).toBe("RECEIVED");
  });

  it("rows from before receiver_id and dedupe_key: a message without a receiver answers only to the configured receiver; a callback stored without a dedupe key is still a duplicate", async () => {
    expect(env.IFIX_RECEIVER_ID).toBe(env.TEST_IFIX_SANDBOX_SENDER);
    const m = await sentAllocation();
    await env.DB.prepare("UPDATE fiscal_messages SET receiver_id = NULL WHERE id = ?").bind(m.messageId).run();
    const other = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
    const sender = "ifix@https://another-receiver.example";
    const E = {
      ...env,
      IFIX_TRUSTED_KEYS: JSON.stringify({ ...JSON.parse(env.IFIX_TRUSTED_KEYS!), [sender]: [await exportSPKI(other.publicKey)] }),
    } as unknown as Env;
    const db = createDb(env.DB);
    const foreign = await signedCallback(
      { header: callbackHeader({ sender_id: sender, message_id: m.messageId }), message: message(m.transactionId, "REJECTED") },
      { key: other.privateKey as CryptoKey },
    );
    expect((await receiveCallback(E, db, "allocation", foreign)).matchedMessageId).toBeNull();
    const body = await signedCallback({ header: callbackHeader({ message_id: m.messageId }), message: message(m.transactionId, "APPROVED") });
    const first = await receiveCallback(E, db, "allocation", body);
    expect(first).toMatchObject({ matchedMessageId: m.messageId, status: "APPROVED" });
    // As a row from before dedupe_key: found by sender + message_id + content, and its stored answer given.
    await env.DB.prepare(
      "UPDATE fiscal_callbacks SET dedupe_key = NULL, answer = json_set(answer, '$.status', 'STORED') WHERE message_id = ? AND sender_id = ?",
    )
      .bind(m.messageId, env.TEST_IFIX_SANDBOX_SENDER)
      .run();
    expect(await receiveCallback(E, db, "allocation", body)).toEqual({ ...first, status: "STORED" });
    expect((await viewOf(m.messageId)).callbacks).toHaveLength(1);
  });

  it("with IFIX_SIGNATURE_SCOPE=message a captured callback replayed with a new message_id and message_ts has no second effect (issue 10, item 8)", async () => {
    const m = await sentAllocation();
    const E = { ...env, IFIX_SIGNATURE_SCOPE: "message" } as unknown as Env;
    const db = createDb(env.DB);
    const captured = await signedCallback(
      { header: callbackHeader(), message: message(m.transactionId, "SUCCESSFUL", { capture: true }) },
      { scope: "message" },
    );
    const first = await receiveCallback(E, db, "allocation", captured);
    expect(first.matchedMessageId).toBe(m.messageId);
    // The header is not signed in this scope: an attacker rewrites message_id and message_ts at will.
    const replay = { ...captured, header: { ...captured.header, message_id: crypto.randomUUID(), message_ts: Math.floor(Date.now() / 1000) } };
    expect(await receiveCallback(E, db, "allocation", replay)).toEqual(first);
    expect((await viewOf(m.messageId)).callbacks).toHaveLength(1);
  });
});

describe("trusted keys", () => {
  it("a rotated key: two trusted keys for one sender (JWK and PEM), either verifies; scope=message", async () => {
    const m = await sentAllocation();
    const db = createDb(env.DB);
    const next = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
    const sender = env.TEST_IFIX_SANDBOX_SENDER;
    const current = JSON.parse(env.IFIX_TRUSTED_KEYS!)[sender];
    const rotated = { ...env, IFIX_TRUSTED_KEYS: JSON.stringify({ [sender]: [await exportJWK(next.publicKey), ...current] }) } as unknown as Env;
    const oldSigned = await signedCallback({ header: callbackHeader(), message: message(m.transactionId, "INPROCESS", { k: "old" }) });
    const newSigned = await signedCallback(
      { header: callbackHeader(), message: message(m.transactionId, "INPROCESS", { k: "new" }) },
      { key: next.privateKey as CryptoKey },
    );
    expect((await receiveCallback(rotated, db, "allocation", oldSigned)).acknowledged).toBe(true);
    expect((await receiveCallback(rotated, db, "allocation", newSigned)).acknowledged).toBe(true);
    await expect(
      receiveCallback(env as unknown as Env, db, "allocation", { ...newSigned, message: { ...newSigned.message, k: "new2" } }),
    ).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
    const msgScope = { ...rotated, IFIX_SIGNATURE_SCOPE: "message" } as Env;
    const s = await signedCallback(
      { header: callbackHeader(), message: message(m.transactionId, "INPROCESS", { k: "scope" }) },
      { scope: "message" },
    );
    expect((await receiveCallback(msgScope, db, "allocation", s)).acknowledged).toBe(true);
    await expect(receiveCallback(rotated, db, "allocation", { ...s, message: { ...s.message, k: "scope2" } })).rejects.toBeInstanceOf(GatewayError);
  });

  it("refuses RSA keys under 2048 bits and non-RSA keys", async () => {
    const weak = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", weak.publicKey)) as ArrayBuffer);
    const pem = `-----BEGIN PUBLIC KEY-----\n${btoa(String.fromCharCode(...spki))}\n-----END PUBLIC KEY-----`;
    await expect(importVerifyKey(pem)).rejects.toBeInstanceOf(KeyFormatError);
    const strong = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
    await expect(importVerifyKey(await exportSPKI(strong.publicKey))).resolves.toBeTruthy();
    const ec = await generateKeyPair("ES256", { extractable: true });
    await expect(importVerifyKey(await exportJWK(ec.publicKey))).rejects.toBeInstanceOf(KeyFormatError);
    await expect(importVerifyKey("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")).rejects.toBeInstanceOf(KeyFormatError);
  });

  it("a body that is not an envelope is refused without effect", async () => {
    expectError(await postCallback("allocation", { hello: "world" }), 401, "BAD_SIGNATURE");
    expectError(
      await call("POST", "/ifix/v1/on-allocation", { rawBody: "{not json", headers: { "Content-Type": "application/json" } }),
      400,
      "VALIDATION_FAILED",
    );
    expect((await call("POST", "/ifix/v1/on-nothing", { body: {} })).status).toBe(404);
  });
});
