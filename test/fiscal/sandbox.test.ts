import { beforeAll, describe, expect, it, vi } from "vitest";
import { env, exports } from "cloudflare:workers";
import { exportSPKI, importPKCS8, exportJWK, importJWK } from "jose";
import { call, type TestClient } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
import { createIfixSandbox } from "../../src/sandbox/ifix/app";
import { sign } from "../../src/sandbox/ifix/crypto";
import { createFiscalClient, programInput, waitForDelivery } from "./helpers";

let writer: TestClient;
let gatewayPublicPem: string;

beforeAll(async () => {
  writer = await createFiscalClient(["fiscal:write", "fiscal:read"], ["*"], "sandbox checks");
  const priv = await importPKCS8(env.IFIX_SIGNING_KEY!, "RS256", { extractable: true });
  const { n, e } = await exportJWK(priv);
  gatewayPublicPem = await exportSPKI((await importJWK({ kty: "RSA", n, e }, "RS256")) as CryptoKey);
});

async function sentEnvelope() {
  const r = await call("POST", "/v1/fiscal/estimates", { token: writer.token, body: { ...programInput(), netAmount: 99.99, grossAmount: 99.99 } });
  await waitForDelivery(writer.token, r.json.messageId);
  const got = (await sandbox("GET", `/ifix/__sandbox/messages/${r.json.messageId}`)).json;
  await sandbox("GET", `/ifix/__sandbox/callbacks?messageId=${r.json.messageId}`); // drained: this test delivers its own
  return { messageId: r.json.messageId as string, body: JSON.stringify({ signature: got.signature, header: got.header, message: got.message }) };
}

describe("iFIX sandbox", () => {
  it("with deliverCallbacks, posts its signed on-<type> callbacks to the sender's callback URL", async () => {
    const local = createIfixSandbox({
      senderId: env.TEST_IFIX_SANDBOX_SENDER,
      privateKeyPem: env.TEST_IFIX_SANDBOX_KEY,
      trustedKeys: { [env.IFIX_SENDER_ID!]: [gatewayPublicPem] },
      statuses: { estimate: ["INPROCESS", "APPROVED"] },
      deliverCallbacks: true,
      fetch: (input, init) => exports.default.fetch(new Request(input as string, init)),
    });
    const { messageId, body } = await sentEnvelope();
    const res = await local.app.fetch(
      new Request("http://sandbox.local/ifix/v1/estimate", { method: "POST", headers: { "Content-Type": "application/json" }, body }),
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ message_id: messageId, status: { status_code: "RECEIVED" } });
    await vi.waitFor(() => expect(local.counters.callbacksDelivered).toBe(2), { timeout: 5_000 });
    const view = await call("GET", `/v1/fiscal/messages/${messageId}`, { token: writer.token });
    expect(view.json.status).toBe("APPROVED");
    expect(view.json.callbacks.map((c: any) => c.status)).toEqual(["INPROCESS", "APPROVED"]);
    // The same message again: accepted once, no second round of callbacks.
    const again = await local.app.fetch(
      new Request("http://sandbox.local/ifix/v1/estimate", { method: "POST", headers: { "Content-Type": "application/json" }, body }),
    );
    expect(again.status).toBe(202);
    expect(local.counters).toMatchObject({ accepted: 1, duplicates: 1, callbacksDelivered: 2 });
  });

  it("answers a bad signature with 401 and the seed's error shape; a reused message_id with new content with 409", async () => {
    const { body } = await sentEnvelope();
    const parsed = JSON.parse(body);
    const post = (b: unknown, type = "estimate") =>
      fetch(`${env.TEST_SANDBOX_URL}/ifix/ifix/v1/${type}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(b),
      });
    const tampered = await post({ ...parsed, message: { ...parsed.message, net_amount: 1 } });
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toEqual({ errors: [{ code: "INVALID_SIGNATURE", message: expect.any(String) }] });
    const unknown = await post({ ...parsed, header: { ...parsed.header, sender_id: "someone@else" } });
    expect(unknown.status).toBe(401);
    expect((await post({ header: parsed.header })).status).toBe(400);
    expect((await post(parsed, "nothing")).status).toBe(404);
    // The same bytes again: a duplicate, accepted (202) without a second effect.
    expect((await post(parsed)).status).toBe(202);
    // The same message_id with other content, validly signed: 409 with the seed's error shape.
    const key = (await importPKCS8(env.IFIX_SIGNING_KEY!, "RS256")) as CryptoKey;
    const message = { ...parsed.message, net_amount: 1, gross_amount: 1 };
    const reuse = await post({ signature: await sign(key, parsed.header, message, "header+message"), header: parsed.header, message });
    expect(reuse.status).toBe(409);
    expect(((await reuse.json()) as { errors: { code: string }[] }).errors[0].code).toBe("DUPLICATE_MESSAGE_ID");
    const bad = await sandbox("PUT", "/ifix/__sandbox/statuses", { type: "estimate", statuses: ["DONE"] });
    expect(bad.status).toBe(400);
  });
});
