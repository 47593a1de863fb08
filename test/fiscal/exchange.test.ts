import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { call, expectError, type TestClient } from "../helpers/gateway";
import { clearFaults, sandbox } from "../helpers/sandbox";
import { canonicalize } from "../../src/adapters/ifix/jcs";
import { verifyEnvelope } from "../../src/adapters/ifix/signing";
import { exportJWK, importJWK, importPKCS8 } from "jose";
import { createFiscalClient, disbursementInput, programInput, relayCallbacks, waitForDelivery } from "./helpers";
import { account, allot, createTenantClient, pi, piBody } from "../funds/helpers";

let writer: TestClient;
let reader: TestClient;
let other: TestClient;

beforeAll(async () => {
  writer = await createFiscalClient(["fiscal:write", "fiscal:disburse", "fiscal:read"], ["*"], "fiscal writer");
  reader = await createFiscalClient(["fiscal:read"], ["*"], "fiscal reader only");
  other = await createFiscalClient(["fiscal:write", "fiscal:read"], ["*"], "another fiscal client");
});
afterEach(async () => {
  await clearFaults();
});

describe("outgoing iFIX messages (CONTRACT §7)", () => {
  it("signs, delivers and records a program; its on-program callback updates it", async () => {
    const sent = await call("POST", "/v1/fiscal/programs", { token: writer.token, body: programInput() });
    expect(sent.status).toBe(202);
    expect(sent.json).toEqual({ messageId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: "QUEUED" });
    const delivered = await waitForDelivery(writer.token, sent.json.messageId);
    expect(delivered.deliveryStatus).toBe("DELIVERED");

    // What the sandbox received: the seed's envelope, signed over JCS(header)+JCS(message).
    const got = await sandbox("GET", `/ifix/__sandbox/messages/${sent.json.messageId}`);
    expect(got.status).toBe(200);
    const { header, message } = got.json;
    expect(header).toEqual({
      message_id: sent.json.messageId,
      message_ts: expect.any(Number),
      action: "create",
      sender_id: env.IFIX_SENDER_ID,
      sender_uri: `${env.IFIX_CALLBACK_URL}/on-program`,
      receiver_id: env.IFIX_RECEIVER_ID,
    });
    expect(Math.abs(header.message_ts - Date.now() / 1000)).toBeLessThan(60);
    expect(message).toMatchObject({ name: "Community Development Initiative", location_code: "pb.jalandhar" });

    const results = await relayCallbacks({ messageId: sent.json.messageId });
    expect(results.map((r) => r.status)).toEqual([200]);
    const after = await call("GET", `/v1/fiscal/messages/${sent.json.messageId}`, { token: reader.token });
    expect(after.status).toBe(404); // another client's message
    const mine = await call("GET", `/v1/fiscal/messages/${sent.json.messageId}`, { token: writer.token });
    expect(mine.json.status).toBe("ACTIVE");
    expect(mine.json.callbacks).toHaveLength(1);
    expect(mine.json.callbacks[0]).toMatchObject({ status: "ACTIVE", senderId: env.TEST_IFIX_SANDBOX_SENDER, matchedBy: "message_id" });
  });

  it("sends a disbursement with amounts in rupees built from paise, and snake_case fields", async () => {
    const input = disbursementInput();
    const sent = await call("POST", "/v1/fiscal/disbursements", { token: writer.token, body: input });
    expect(sent.status).toBe(202);
    await waitForDelivery(writer.token, sent.json.messageId);
    const got = await sandbox("GET", `/ifix/__sandbox/messages/${sent.json.messageId}`);
    expect(got.json.type).toBe("disburse");
    const m = got.json.message;
    expect(m).toMatchObject({
      transaction_id: input.transactionId,
      linked_id: input.linkedId,
      net_amount: 1000.5,
      gross_amount: 1000.5,
      account_code: "1234567890@SBIN0003491",
      recipient_segment_code: "CBO",
      source_of_fund_code: "STATE",
      individual: { name: "John", phone: 9876543210, pin: 110001 },
    });
    expect(m.children.map((c: any) => c.net_amount)).toEqual([600.25, 400.25]);

    // Two callbacks (INPROCESS, SUCCESSFUL) reusing the request's message_id (as the seed's do): matched by it.
    const results = await relayCallbacks({ messageId: sent.json.messageId });
    expect(results.map((r) => r.json.status)).toEqual(["INPROCESS", "SUCCESSFUL"]);
    const view = await call("GET", `/v1/fiscal/messages/${sent.json.messageId}`, { token: writer.token });
    expect(view.json.status).toBe("SUCCESSFUL");
    expect(view.json.callbacks.map((c: any) => [c.status, c.matchedBy])).toEqual([
      ["INPROCESS", "message_id"],
      ["SUCCESSFUL", "message_id"],
    ]);
  });

  it("PATCH sends action update for the same kind, own messages only", async () => {
    const sent = await call("POST", "/v1/fiscal/sanctions", { token: writer.token, body: { ...programInput(), netAmount: 50, grossAmount: 50 } });
    expect(sent.status).toBe(202);
    const upd = await call("PATCH", `/v1/fiscal/sanctions/${sent.json.messageId}`, {
      token: writer.token,
      body: { ...programInput(), netAmount: 75, grossAmount: 75 },
    });
    expect(upd.status).toBe(202);
    expect(upd.json.messageId).not.toBe(sent.json.messageId);
    const m = await waitForDelivery(writer.token, upd.json.messageId);
    expect(m).toMatchObject({ action: "update", parentMessageId: sent.json.messageId });
    const got = await sandbox("GET", `/ifix/__sandbox/messages/${upd.json.messageId}`);
    expect(got.json.header.action).toBe("update");
    expectError(
      await call("PATCH", `/v1/fiscal/sanctions/${sent.json.messageId}`, {
        token: other.token,
        body: { ...programInput(), netAmount: 1, grossAmount: 1 },
      }),
      404,
      "NOT_FOUND",
    );
    expectError(await call("PATCH", `/v1/fiscal/programs/${sent.json.messageId}`, { token: writer.token, body: programInput() }), 404, "NOT_FOUND");
  });

  it("lists messages: own for fiscal:read, every client's for ops, with filters and a cursor", async () => {
    const mine = [];
    for (let i = 0; i < 3; i++)
      mine.push(
        (await call("POST", "/v1/fiscal/demands", { token: other.token, body: { ...programInput(), netAmount: 5, grossAmount: 5 } })).json.messageId,
      );
    const page1 = await call("GET", "/v1/fiscal/messages?type=demand&limit=2", { token: other.token });
    expect(page1.status).toBe(200);
    expect(page1.json.items).toHaveLength(2);
    const page2 = await call("GET", `/v1/fiscal/messages?type=demand&limit=2&cursor=${page1.json.nextCursor}`, { token: other.token });
    expect([...page1.json.items, ...page2.json.items].map((m: any) => m.messageId).sort()).toEqual([...mine].sort());
    expect((await call("GET", "/v1/fiscal/messages?type=demand", { token: writer.token })).json.items).toEqual([]);
    const ops = await createFiscalClient(["ops"], ["*"], "fiscal operator");
    const all = await call("GET", "/v1/fiscal/messages?type=demand&limit=200", { token: ops.token });
    expect(all.json.items.map((m: any) => m.messageId)).toEqual(expect.arrayContaining(mine));
    expectError(await call("GET", "/v1/fiscal/messages?deliveryStatus=LOST", { token: ops.token }), 400, "VALIDATION_FAILED");
  });

  it("validates input: codes, amounts, sums, scopes — and no stricter than seed 002", async () => {
    const bad = async (kind: string, body: unknown, status = 400, code = "VALIDATION_FAILED") =>
      expectError(await call("POST", `/v1/fiscal/${kind}`, { token: writer.token, body }), status, code);
    await bad("programs", programInput({ programCode: "X" }));
    await bad("programs", programInput({ locationCode: "x".repeat(65) }));
    await bad("programs", programInput({ unknownField: 1 }));
    await bad("programs", { name: "No tenant", programCode: "PORG/1" }); // locationCode: the contract's tenant
    await bad("estimates", programInput({ netAmount: 0, grossAmount: 10 }));
    await bad("estimates", programInput({ netAmount: -5, grossAmount: 10 }));
    await bad("estimates", programInput({ netAmount: 10.001, grossAmount: 10 }));
    await bad("estimates", programInput({ netAmount: "10", grossAmount: 10 }));
    await bad("disbursements", disbursementInput({ individual: { name: "John", phone: "12", address: "x" } }));
    await bad("nonsense", programInput());
    const e = await bad("disbursements", disbursementInput({ netAmount: 1000.51 }), 422, "AMOUNT_MISMATCH");
    expect(e.details[0].path).toBe("netAmount");
    await bad(
      "disbursements",
      disbursementInput({ children: [{ netAmount: 1000.5, grossAmount: 1000.5, children: [{ netAmount: 1, grossAmount: 1 }] }] }),
      422,
      "AMOUNT_MISMATCH",
    );
    expectError(await call("POST", "/v1/fiscal/programs", { token: reader.token, body: programInput() }), 403, "FORBIDDEN");
    expectError(await call("POST", "/v1/fiscal/programs", { body: programInput() }), 401, "UNAUTHORIZED");
    // What seed 002 does not require is not required (before: 400 for each).
    const ok = async (kind: string, body: unknown) =>
      expect((await call("POST", `/v1/fiscal/${kind}`, { token: writer.token, body })).status).toBe(202);
    await ok("programs", { locationCode: "pb.jalandhar", programCode: "PORG/1" }); // no name
    await ok("estimates", programInput()); // no amounts
    await ok("sanctions", { locationCode: "pb.jalandhar", name: "no program code" });
    await ok("disbursements", disbursementInput({ transactionId: undefined }));
    await ok("disbursements", disbursementInput({ individual: { name: "John" } })); // no phone, no address
    const deep = (n: number): Record<string, unknown> =>
      n === 0 ? { name: "leaf", netAmount: 1, grossAmount: 1 } : { name: `level ${n}`, netAmount: 1, grossAmount: 1, children: [deep(n - 1)] };
    await ok("disbursements", { ...deep(6), locationCode: "pb.jalandhar" }); // children nest deeper than three (the seed's are circular)
  });

  it("raw disbursements move money no funds account backs: scope fiscal:disburse besides fiscal:write (CONTRACT v3 §4)", async () => {
    // Before: fiscal:write alone sent them.
    expectError(await call("POST", "/v1/fiscal/disbursements", { token: other.token, body: disbursementInput() }), 403, "FORBIDDEN");
    const sent = await call("POST", "/v1/fiscal/disbursements", { token: writer.token, body: disbursementInput() });
    expect(sent.status).toBe(202);
    expect((await call("POST", "/v1/fiscal/programs", { token: other.token, body: programInput() })).status).toBe(202);
  });

  it("tenants: a message for a tenant outside the client's is a 403, and so is reading or updating one (CONTRACT v3 §4)", async () => {
    const narrow = await createFiscalClient(["fiscal:write", "fiscal:read"], ["pb.jalandhar"], "one tenant");
    expectError(
      await call("POST", "/v1/fiscal/programs", { token: narrow.token, body: programInput({ locationCode: "as.kamrup" }) }),
      403,
      "FORBIDDEN",
    );
    const sent = await call("POST", "/v1/fiscal/programs", { token: narrow.token, body: programInput() });
    expect(sent.status).toBe(202);
    expectError(
      await call("PATCH", `/v1/fiscal/programs/${sent.json.messageId}`, { token: narrow.token, body: programInput({ locationCode: "as.kamrup" }) }),
      403,
      "FORBIDDEN",
    );
    expect((await call("PATCH", `/v1/admin/clients/${narrow.clientId}`, { admin: true, body: { tenants: ["as.kamrup"] } })).status).toBe(200);
    expectError(await call("GET", `/v1/fiscal/messages/${sent.json.messageId}`, { token: narrow.token }), 403, "FORBIDDEN");
    expect((await call("GET", "/v1/fiscal/messages?type=program", { token: narrow.token })).json.items).toEqual([]);
  });

  it("a PATCH of a payment instruction's disburse is 409 INVALID_STATE: a PI changes only through the funds routes (issue 10, item 3)", async () => {
    const treasury = await createTenantClient(["funds:write", "funds:read", "fiscal:write", "fiscal:disburse", "fiscal:read"], ["*"], "treasury");
    const acc = account();
    await allot(treasury.token, acc, "INITIAL_ALLOTMENT", 100);
    const p = await pi(treasury.token, piBody(acc, 10));
    const messageId = await vi.waitFor(
      async () => {
        const v = (await call("GET", `/v1/payment-instructions/${p.json.piId}`, { admin: true })).json;
        if (v.delivery?.deliveryStatus !== "DELIVERED") throw new Error("not yet");
        return v.delivery.messageId as string;
      },
      { timeout: 15_000, interval: 100 },
    );
    // Before: 202, and an update with any amount and beneficiaries went out around the funds check.
    const patch = await call("PATCH", `/v1/fiscal/disbursements/${messageId}`, {
      token: treasury.token,
      body: disbursementInput({ netAmount: 99_999, grossAmount: 99_999, children: [] }),
    });
    expectError(patch, 409, "INVALID_STATE");
  });

  it("a body the signature's JCS cannot canonicalize (lone surrogate, nesting over 64) is a 400, not an error while signing", async () => {
    expectError(
      await call("POST", "/v1/fiscal/programs", { token: writer.token, body: { ...programInput(), name: "Program \udc00" } }),
      400,
      "VALIDATION_FAILED",
    );
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 70; i++) deep = { d: deep };
    expectError(
      await call("POST", "/v1/fiscal/programs", { token: writer.token, body: { ...programInput(), additionalDetails: deep } }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("the stored signature verifies with the gateway's public key over JCS(header)+JCS(message)", async () => {
    const sent = await call("POST", "/v1/fiscal/receipts", { token: writer.token, body: { ...programInput(), netAmount: 12.3, grossAmount: 12.3 } });
    await waitForDelivery(writer.token, sent.json.messageId);
    const got = await sandbox("GET", `/ifix/__sandbox/messages/${sent.json.messageId}`);
    // Verify here too, with the public half of IFIX_SIGNING_KEY, whatever the key order on the wire.
    const { header, message, signature } = got.json;
    const priv = await importPKCS8(env.IFIX_SIGNING_KEY!, "RS256", { extractable: true });
    const { n, e } = await exportJWK(priv);
    const pub = (await importJWK({ kty: "RSA", n, e }, "RS256")) as CryptoKey;
    const shuffled = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).reverse());
    expect(await verifyEnvelope([pub], signature, shuffled(header), shuffled(message))).toBe(true);
    expect(await verifyEnvelope([pub], signature, { ...header, action: "update" }, message)).toBe(false);
    // The signed bytes are exactly JCS(header) followed by JCS(message).
    const data = new TextEncoder().encode(canonicalize(header) + canonicalize(message));
    const raw = Uint8Array.from(atob(signature), (ch) => ch.charCodeAt(0));
    expect(raw.byteLength).toBe(256);
    expect(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", pub, raw, data)).toBe(true);
    expect(got.json.posts).toBe(1);
  });
});
