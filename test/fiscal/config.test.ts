import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { exportJWK, importJWK, importPKCS8 } from "jose";
import { createApp } from "../../src/http/app";
import { buildSignedEnvelope } from "../../src/adapters/ifix/envelope";
import { verifyEnvelope } from "../../src/adapters/ifix/signing";
import type { Env } from "../../src/env";
import { createClient, type TestClient } from "../helpers/gateway";
import { programInput } from "./helpers";

let client: TestClient;
let gatewayPublic: CryptoKey;
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

beforeAll(async () => {
  client = await createClient(["fiscal:write", "funds:write", "funds:read"], "fiscal config");
  const { n, e } = await exportJWK(await importPKCS8(env.IFIX_SIGNING_KEY!, "RS256", { extractable: true }));
  gatewayPublic = (await importJWK({ kty: "RSA", n, e }, "RS256")) as CryptoKey;
});

async function callWith(vars: Partial<Env>, method: string, path: string, body: unknown) {
  const res = await createApp().fetch(
    new Request(`http://gw${path}`, { method, headers: { Authorization: `Bearer ${client.token}`, "Content-Type": "application/json" }, body: JSON.stringify(body) }),
    { ...env, ...vars } as unknown as Env,
    ctx,
  );
  return { status: res.status, json: (await res.json()) as any };
}

describe("iFIX configuration (CONTRACT §2)", () => {
  it("503 CONFIG_INVALID naming a missing or malformed variable; nothing is written", async () => {
    const missing = await callWith({ IFIX_SIGNING_KEY: undefined }, "POST", "/v1/fiscal/programs", programInput());
    expect(missing.status).toBe(503);
    expect(missing.json.error).toMatchObject({ code: "CONFIG_INVALID", details: [{ path: "IFIX_SIGNING_KEY", message: "missing" }] });
    const malformed = await callWith({ IFIX_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }, "POST", "/v1/fiscal/programs", programInput());
    expect(malformed.status).toBe(503);
    expect(malformed.json.error.message).toContain("IFIX_SIGNING_KEY");
    expect(JSON.stringify(malformed.json)).not.toContain("AAAA");
    const badKey = await callWith({ DATA_ENCRYPTION_KEY: "c2hvcnQ=" }, "POST", "/v1/fiscal/programs", programInput());
    expect(badKey.json.error).toMatchObject({ code: "CONFIG_INVALID", details: [{ path: "DATA_ENCRYPTION_KEY", message: "malformed" }] });
    const trust = await callWith({ IFIX_TRUSTED_KEYS: "{not json" }, "POST", "/ifix/v1/on-program", { signature: "x", header: { sender_id: "a" }, message: {} });
    expect(trust.status).toBe(503);
    expect(trust.json.error.message).toContain("IFIX_TRUSTED_KEYS");
  });

  it("a PI needs the iFIX configuration before any funds move; allotments do not need it", async () => {
    const acc = { tenantId: `pb.cfg${crypto.randomUUID().slice(0, 6)}`, headOfAccount: "HOA-1", ssuCode: "SSU-1" };
    const noIfix = { IFIX_BASE_URL: undefined } as Partial<Env>;
    const allot = await callWith(noIfix, "POST", "/v1/funds/allotments", { txnId: crypto.randomUUID(), ...acc, type: "INITIAL_ALLOTMENT", amount: 10 });
    expect(allot.status).toBe(201);
    const r = await callWith(noIfix, "POST", "/v1/payment-instructions", {
      paymentId: crypto.randomUUID(),
      ...acc,
      amount: 5,
      beneficiaries: [{ name: "A", accountCode: "11@SBIN0000001", amount: 5 }],
    });
    expect(r.status).toBe(503);
    const summary = await callWith({}, "GET", `/v1/funds/summary?tenantId=${acc.tenantId}`, undefined);
    expect(summary.json.items[0]).toMatchObject({ committed: 0, available: 10 });
  });

  it("IFIX_SIGNATURE_SCOPE=message signs JCS(message) alone; the default covers the header too", async () => {
    const message = { name: "x", program_code: "P-1", net_amount: 1.5 };
    const both = JSON.parse((await buildSignedEnvelope(env as unknown as Env, "program", "create", message)).body);
    expect(await verifyEnvelope([gatewayPublic], both.signature, both.header, both.message)).toBe(true);
    expect(await verifyEnvelope([gatewayPublic], both.signature, both.header, both.message, "message")).toBe(false);
    const scoped = { ...env, IFIX_SIGNATURE_SCOPE: "message" } as unknown as Env;
    const only = JSON.parse((await buildSignedEnvelope(scoped, "program", "create", message)).body);
    expect(await verifyEnvelope([gatewayPublic], only.signature, { anything: true }, only.message, "message")).toBe(true);
    // IFIX_SIGNING_KEY as a private JWK signs the same way.
    const jwk = await exportJWK(await importPKCS8(env.IFIX_SIGNING_KEY!, "RS256", { extractable: true }));
    const asJwk = { ...env, IFIX_SIGNING_KEY: JSON.stringify(jwk) } as unknown as Env;
    const viaJwk = JSON.parse((await buildSignedEnvelope(asJwk, "program", "create", message)).body);
    expect(await verifyEnvelope([gatewayPublic], viaJwk.signature, viaJwk.header, viaJwk.message)).toBe(true);
    const publicOnly = { ...env, IFIX_SIGNING_KEY: JSON.stringify({ kty: "RSA", n: jwk.n, e: jwk.e }) } as unknown as Env;
    await expect(buildSignedEnvelope(publicOnly, "program", "create", message)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    const wrong = { ...env, IFIX_SIGNATURE_SCOPE: "everything" } as unknown as Env;
    await expect(buildSignedEnvelope(wrong, "program", "create", message)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });
});
