import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { exportJWK, exportSPKI, generateKeyPair } from "jose";
import { call, createClient, expectError, type TestClient } from "../helpers/gateway";
import { createDb } from "../../src/storage/db";
import { receiveCallback } from "../../src/domain/fiscal/callbacks";
import { importVerifyKey, KeyFormatError } from "../../src/adapters/ifix/keys";
import { GatewayError } from "../../src/errors";
import type { Env } from "../../src/env";
import { callbackHeader, postCallback, programInput, signedCallback, waitForDelivery } from "./helpers";

let writer: TestClient;
let programMessageId: string;
let transactionId: string;

beforeAll(async () => {
  writer = await createClient(["fiscal:write", "fiscal:read"], "fiscal callbacks");
  transactionId = `TXN/${crypto.randomUUID()}`;
  const sent = await call("POST", "/v1/fiscal/allocations", {
    token: writer.token,
    body: { ...programInput(), transactionId, linkedId: `linked:${transactionId}`, netAmount: 10, grossAmount: 10 },
  });
  programMessageId = sent.json.messageId;
  await waitForDelivery(writer.token, programMessageId);
});

const message = (status = "APPROVED", extra: Record<string, unknown> = {}) => ({
  name: "Allocation",
  transaction_id: transactionId,
  net_amount: 10,
  status: { status_code: status, status_message: "ok" },
  ...extra,
});

async function statusOf() {
  const r = await call("GET", `/v1/fiscal/messages/${programMessageId}`, { token: writer.token });
  return r.json as { status: string; callbacks: any[] };
}

describe("iFIX callbacks: signature, de-duplication, freshness (CONTRACT §7)", () => {
  it("accepts a correctly signed callback and applies its status", async () => {
    const body = await signedCallback({ header: callbackHeader(), message: message("APPROVED") });
    const r = await postCallback("allocation", body);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ acknowledged: true, messageId: body.header.message_id, matchedMessageId: programMessageId, status: "APPROVED" });
    expect((await statusOf()).status).toBe("APPROVED");
  });

  it("401 BAD_SIGNATURE for a tampered header, message or signature, a wrong key, an unknown sender", async () => {
    const before = (await statusOf()).callbacks.length;
    const good = await signedCallback({ header: callbackHeader(), message: message("REJECTED") });
    expectError(await postCallback("allocation", { ...good, header: { ...good.header, message_ts: Number(good.header.message_ts) + 1 } }), 401, "BAD_SIGNATURE");
    expectError(await postCallback("allocation", { ...good, message: { ...good.message, net_amount: 11 } }), 401, "BAD_SIGNATURE");
    const sig = good.signature;
    const flipped = (sig[10] === "A" ? "B" : "A") + "";
    expectError(await postCallback("allocation", { ...good, signature: sig.slice(0, 10) + flipped + sig.slice(11) }), 401, "BAD_SIGNATURE");
    expectError(await postCallback("allocation", { ...good, signature: "not base64!!" }), 401, "BAD_SIGNATURE");
    expectError(await postCallback("allocation", { header: good.header, message: good.message }), 401, "BAD_SIGNATURE");
    const stranger = await generateKeyPair("RS256", { modulusLength: 2048 });
    const wrongKey = await signedCallback({ header: callbackHeader(), message: message("REJECTED") }, { key: stranger.privateKey as CryptoKey });
    expectError(await postCallback("allocation", wrongKey), 401, "BAD_SIGNATURE");
    const unknown = await signedCallback({ header: callbackHeader({ sender_id: "ifix@https://unknown.example" }), message: message("REJECTED") });
    expectError(await postCallback("allocation", unknown), 401, "BAD_SIGNATURE");
    // None of them changed anything.
    const after = await statusOf();
    expect(after.status).toBe("APPROVED");
    expect(after.callbacks).toHaveLength(before);
  });

  it("de-duplicates on sender + message_id + content: the first answer again, no second effect", async () => {
    const header = callbackHeader();
    const first = await signedCallback({ header, message: message("INPROCESS") });
    const a = await postCallback("allocation", first);
    const before = await statusOf();
    // Re-sent with keys in another order and new whitespace: the same content.
    const reordered = JSON.stringify({ message: first.message, signature: first.signature, header: first.header }, null, 2);
    const b = await call("POST", "/ifix/v1/on-allocation", { rawBody: reordered, headers: { "Content-Type": "application/json" } });
    expect(b.status).toBe(200);
    expect(b.json).toEqual(a.json);
    expect((await statusOf()).callbacks).toHaveLength(before.callbacks.length);
    // The same message_id with new content is a new status update (iFIX reuses ids).
    const update = await signedCallback({ header: { ...header, message_ts: header.message_ts + 1 }, message: message("SUCCESSFUL") });
    const c = await postCallback("allocation", update);
    expect(c.status).toBe(200);
    expect(c.json.status).toBe("SUCCESSFUL");
    const after = await statusOf();
    expect(after.status).toBe("SUCCESSFUL");
    expect(after.callbacks).toHaveLength(before.callbacks.length + 1);
  });

  it("a replay seen before answers 200 even when old; a new stale message is 401 STALE_MESSAGE", async () => {
    const seen = await signedCallback({ header: callbackHeader(), message: message("SUCCESSFUL", { note: "replay" }) });
    expect((await postCallback("allocation", seen)).status).toBe(200);
    expect((await postCallback("allocation", seen)).status).toBe(200);
    const old = await signedCallback({ header: callbackHeader({ message_ts: Math.floor(Date.now() / 1000) - 10 * 60 }), message: message("FAILED") });
    expectError(await postCallback("allocation", old), 401, "STALE_MESSAGE");
    const future = await signedCallback({ header: callbackHeader({ message_ts: Math.floor(Date.now() / 1000) + 6 * 60 }), message: message("FAILED") });
    expectError(await postCallback("allocation", future), 401, "STALE_MESSAGE");
    // A stale message with a bad signature is a bad signature first.
    expectError(await postCallback("allocation", { ...old, signature: seen.signature }), 401, "BAD_SIGNATURE");
    expect((await statusOf()).status).toBe("SUCCESSFUL");
  });

  it("is liberal in the header: ms or s, number or numeric string, extra fields", async () => {
    const ms = await signedCallback({ header: callbackHeader({ message_ts: Date.now() }), message: message("SUCCESSFUL", { n: 1 }) });
    expect((await postCallback("allocation", ms)).status).toBe(200);
    const str = await signedCallback({ header: callbackHeader({ message_ts: String(Math.floor(Date.now() / 1000)) }), message: message("SUCCESSFUL", { n: 2 }) });
    expect((await postCallback("allocation", str)).status).toBe(200);
    const extra = await signedCallback({
      header: callbackHeader({ message_type: "allocation", is_msg_encrypted: false }),
      message: message("SUCCESSFUL", { n: 3 }),
    });
    expect((await postCallback("allocation", extra)).status).toBe(200);
    const nonsense = await signedCallback({ header: callbackHeader({ message_ts: "yesterday" }), message: message("SUCCESSFUL", { n: 4 }) });
    expectError(await postCallback("allocation", nonsense), 401, "STALE_MESSAGE");
  });

  it("matches by linked_id when no transaction_id matches, else by message_id", async () => {
    const byLinked = await signedCallback({ header: callbackHeader(), message: { linked_id: `linked:${transactionId}`, status: { status_code: "COMPLETED" } } });
    const r = await postCallback("allocation", byLinked);
    expect(r.json.matchedMessageId).toBe(programMessageId);
    const cbs = (await statusOf()).callbacks;
    expect(cbs[cbs.length - 1].matchedBy).toBe("linked_id");
    const byId = await signedCallback({ header: callbackHeader({ message_id: programMessageId }), message: { status: { status_code: "COMPLETED" }, note: "by id" } });
    expect((await postCallback("allocation", byId)).json.matchedMessageId).toBe(programMessageId);
    const none = await signedCallback({ header: callbackHeader(), message: { transaction_id: "NOPE/1", status: { status_code: "FAILED" } } });
    const n = await postCallback("allocation", none);
    expect(n.status).toBe(200);
    expect(n.json.matchedMessageId).toBeNull();
    expect((await statusOf()).status).toBe("COMPLETED");
  });

  it("a rotated key: two trusted keys for one sender (JWK and PEM), either verifies; scope=message", async () => {
    const db = createDb(env.DB);
    const next = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
    const sender = env.TEST_IFIX_SANDBOX_SENDER;
    const current = JSON.parse(env.IFIX_TRUSTED_KEYS!)[sender];
    const rotated = { ...env, IFIX_TRUSTED_KEYS: JSON.stringify({ [sender]: [await exportJWK(next.publicKey), ...current] }) } as unknown as Env;
    const oldSigned = await signedCallback({ header: callbackHeader(), message: message("SUCCESSFUL", { k: "old" }) });
    const newSigned = await signedCallback({ header: callbackHeader(), message: message("SUCCESSFUL", { k: "new" }) }, { key: next.privateKey as CryptoKey });
    expect((await receiveCallback(rotated, db, "allocation", oldSigned)).acknowledged).toBe(true);
    expect((await receiveCallback(rotated, db, "allocation", newSigned)).acknowledged).toBe(true);
    // Without the new key it does not verify.
    await expect(receiveCallback(env as unknown as Env, db, "allocation", { ...newSigned, message: { ...newSigned.message, k: "new2" } })).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
    // eGov digit-exchange: the signature covers JCS(message) alone.
    const msgScope = { ...rotated, IFIX_SIGNATURE_SCOPE: "message" } as Env;
    const m = await signedCallback({ header: callbackHeader(), message: message("SUCCESSFUL", { k: "scope" }) }, { scope: "message" });
    expect((await receiveCallback(msgScope, db, "allocation", m)).acknowledged).toBe(true);
    await expect(receiveCallback(rotated, db, "allocation", { ...m, message: { ...m.message, k: "scope2" } })).rejects.toBeInstanceOf(GatewayError);
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
    expectError(await call("POST", "/ifix/v1/on-allocation", { rawBody: "{not json", headers: { "Content-Type": "application/json" } }), 400, "VALIDATION_FAILED");
    expect((await call("POST", "/ifix/v1/on-nothing", { body: {} })).status).toBe(404);
  });
});
