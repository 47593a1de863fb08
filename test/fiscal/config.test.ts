import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { exportJWK, generateKeyPair, importJWK, importPKCS8 } from "jose";
import { createDb } from "../../src/storage/db";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { needsReseal, openText, reseal, sealText } from "../../src/domain/fiscal/at-rest";
import { openStoredMessage } from "../../src/domain/fiscal/messages";
import { resealD1 } from "../../src/cron/fiscal-sweep.job";
import { accountStub } from "../../src/domain/funds/accounts";
import type { FundsAccount } from "../../src/durable-objects/funds-account";
import { createApp } from "../../src/http/app";
import { buildSignedEnvelope } from "../../src/adapters/ifix/envelope";
import { verifyEnvelope } from "../../src/adapters/ifix/signing";
import type { Env } from "../../src/env";
import { call, type TestClient } from "../helpers/gateway";
import { createFiscalClient, programInput } from "./helpers";

let client: TestClient;
let gatewayPublic: CryptoKey;
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

beforeAll(async () => {
  client = await createFiscalClient(["fiscal:write", "funds:write", "funds:read"], ["*"], "fiscal config");
  const { n, e } = await exportJWK(await importPKCS8(env.IFIX_SIGNING_KEY!, "RS256", { extractable: true }));
  gatewayPublic = (await importJWK({ kty: "RSA", n, e }, "RS256")) as CryptoKey;
});

async function callWith(vars: Partial<Env>, method: string, path: string, body: unknown) {
  const res = await createApp().fetch(
    new Request(`http://gw${path}`, {
      method,
      headers: { Authorization: `Bearer ${client.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
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
    const malformed = await callWith(
      { IFIX_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" },
      "POST",
      "/v1/fiscal/programs",
      programInput(),
    );
    expect(malformed.status).toBe(503);
    expect(malformed.json.error.message).toContain("IFIX_SIGNING_KEY");
    expect(JSON.stringify(malformed.json)).not.toContain("AAAA");
    const badKey = await callWith({ DATA_ENCRYPTION_KEY: "c2hvcnQ=" }, "POST", "/v1/fiscal/programs", programInput());
    expect(badKey.json.error).toMatchObject({ code: "CONFIG_INVALID", details: [{ path: "DATA_ENCRYPTION_KEY", message: "malformed" }] });
    const trust = await callWith({ IFIX_TRUSTED_KEYS: "{not json" }, "POST", "/ifix/v1/on-program", {
      signature: "x",
      header: { sender_id: "a" },
      message: {},
    });
    expect(trust.status).toBe(503);
    expect(trust.json.error.message).toContain("IFIX_TRUSTED_KEYS");
  });

  it("a PI needs the iFIX configuration before any funds move; allotments do not need it", async () => {
    const acc = { tenantId: `pb.cfg${crypto.randomUUID().slice(0, 6)}`, headOfAccount: "HOA-1", ssuCode: "SSU-1" };
    const noIfix = { IFIX_BASE_URL: undefined } as Partial<Env>;
    const allot = await callWith(noIfix, "POST", "/v1/funds/allotments", {
      txnId: crypto.randomUUID(),
      ...acc,
      type: "INITIAL_ALLOTMENT",
      amount: 10,
    });
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

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const newKey = () => b64(crypto.getRandomValues(new Uint8Array(32)));
const withVars = (vars: Partial<Env>) => ({ ...env, ...vars }) as unknown as Env;

describe("DATA_ENCRYPTION_KEY is a key ring (issue 12, CONTRACT v3 §2)", () => {
  it("the first key seals and names its kid; every key opens; today's bare key and v1 values still open", async () => {
    const oldKey = newKey();
    const nextKey = newKey();
    const bare = withVars({ DATA_ENCRYPTION_KEY: oldKey });
    const sealedBare = await sealText(bare, "Asha Devi", "row-1");
    expect(sealedBare).toMatch(/^v2\.0\./);
    // A value sealed before key ids existed ("v1." + iv ‖ ciphertext, under the bare key).
    const raw = await crypto.subtle.importKey(
      "raw",
      Uint8Array.from(atob(oldKey), (c) => c.charCodeAt(0)),
      "AES-GCM",
      false,
      ["encrypt"],
    );
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode("row-2") }, raw, new TextEncoder().encode("Meena")),
    );
    const v1 = `v1.${b64(new Uint8Array([...iv, ...ct]))}`;
    // Rotated: the new key first, the old one still listed under a kid.
    const ring = withVars({ DATA_ENCRYPTION_KEY: `k2:${nextKey},0:${oldKey}` });
    expect(await openText(ring, sealedBare, "row-1")).toBe("Asha Devi");
    expect(await openText(ring, v1, "row-2")).toBe("Meena");
    const fresh = await sealText(ring, "Asha Devi", "row-1");
    expect(fresh).toMatch(/^v2\.k2\./);
    expect(await needsReseal(ring, sealedBare)).toBe(true);
    expect(await needsReseal(ring, fresh)).toBe(false);
    expect(await openText(ring, await reseal(ring, v1, "row-2"), "row-2")).toBe("Meena");
    // Without the old key it no longer opens; a ciphertext moved to another row never does.
    await expect(openText(withVars({ DATA_ENCRYPTION_KEY: `k2:${nextKey}` }), sealedBare, "row-1")).rejects.toThrow();
    await expect(openText(ring, fresh, "row-9")).rejects.toThrow();
  });

  it("a malformed ring is 503 CONFIG_INVALID naming the variable, never echoing a key", async () => {
    for (const bad of ["k1:c2hvcnQ=", `k1:${newKey()},k1:${newKey()}`, `bad kid:${newKey()}`, `k1:${newKey()},${newKey()}`]) {
      const r = await callWith({ DATA_ENCRYPTION_KEY: bad }, "POST", "/v1/fiscal/programs", programInput());
      expect(r.status).toBe(503);
      expect(r.json.error).toMatchObject({ code: "CONFIG_INVALID", details: [{ path: "DATA_ENCRYPTION_KEY", message: "malformed" }] });
      expect(JSON.stringify(r.json)).not.toContain(bad.split(":")[1]?.slice(0, 10) ?? "none");
    }
  });

  it("the sweep re-encrypts D1's sealed rows and the account objects' sealed disburses under the newest key, bounded per run", async () => {
    const db = createDb(env.DB);
    const current = env.DATA_ENCRYPTION_KEY!;
    const rotated = withVars({ DATA_ENCRYPTION_KEY: `next:${newKey()},0:${current}` });
    const sent = await callWith({}, "POST", "/v1/fiscal/programs", programInput());
    expect(sent.status).toBe(202);
    const before = (await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, sent.json.messageId)).get())!;
    expect(before.wireBody).toMatch(/^v2\.0\./);
    let done = 0;
    for (
      let i = 0;
      i < 50 && !(await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, sent.json.messageId)).get())!.wireBody.startsWith("v2.next.");
      i++
    ) {
      const step = await resealD1(rotated, db, 200);
      expect(step.done).toBeLessThanOrEqual(400); // bounded: 200 per table per run
      done += step.done;
    }
    const after = (await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, sent.json.messageId)).get())!;
    expect(after.wireBody).toMatch(/^v2\.next\./);
    expect(done).toBeGreaterThan(0);
    expect(await openStoredMessage(rotated, after.wireBody, after.id)).toMatchObject({ message: { location_code: "pb.jalandhar" } });
    // An account object's own: its sealed disburse.
    const acc = { tenantId: `pb.rk${crypto.randomUUID().slice(0, 6)}`, headOfAccount: "HOA-1", ssuCode: "SSU-1" };
    expect(
      (await callWith({}, "POST", "/v1/funds/allotments", { txnId: crypto.randomUUID(), ...acc, type: "INITIAL_ALLOTMENT", amount: 10 })).status,
    ).toBe(201);
    const p = await callWith({}, "POST", "/v1/payment-instructions", {
      paymentId: crypto.randomUUID(),
      ...acc,
      amount: 5,
      beneficiaries: [{ name: "A", accountCode: "11@SBIN0000001", amount: 5 }],
    });
    expect(p.status).toBe(201);
    const stub = accountStub(env as unknown as Env, acc);
    const payload = () =>
      runInDurableObject(stub, async (_i: FundsAccount, s) => s.storage.sql.exec<{ payload: string }>("SELECT payload FROM outbox").one().payload);
    expect(await payload()).toMatch(/^v2\.0\./);
    expect(await runInDurableObject(stub, async (instance: FundsAccount) => withEnv(instance, rotated, () => instance.resealPayloads(10)))).toBe(1);
    expect(await payload()).toMatch(/^v2\.next\./);
  });
});

/** Runs an object's method under another env (the key ring rotated). */
async function withEnv<T>(instance: FundsAccount, e: Env, run: () => Promise<T>): Promise<T> {
  const holder = instance as unknown as { env: Env };
  const saved = holder.env;
  holder.env = e;
  try {
    return await run();
  } finally {
    holder.env = saved;
  }
}

describe("GET /.well-known/jwks.json (CONTRACT v3 §7, issue 12)", () => {
  it("publishes the public half of every key of IFIX_SIGNING_KEY, with kid and alg RS256, without credentials", async () => {
    const r = await call("GET", "/.well-known/jwks.json");
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toContain("max-age");
    expect(r.json.keys).toHaveLength(1);
    const [k] = r.json.keys;
    expect(k).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", kid: expect.any(String) });
    expect(k).not.toHaveProperty("d");
    const pub = (await importJWK(k, "RS256")) as CryptoKey;
    const { body } = await buildSignedEnvelope(env as unknown as Env, "program", "create", { name: "x" });
    const e = JSON.parse(body);
    expect(await verifyEnvelope([pub], e.signature, e.header, e.message)).toBe(true);
  });

  it("during a rotation lists both keys (a JSON array; the first signs)", async () => {
    const next = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
    const nextJwk = { ...(await exportJWK(next.privateKey)), kid: "gateway-2026-12" };
    const rotated = { IFIX_SIGNING_KEY: JSON.stringify([nextJwk, env.IFIX_SIGNING_KEY]) } as Partial<Env>;
    const res = await createApp().fetch(new Request("http://gw/.well-known/jwks.json"), { ...env, ...rotated } as unknown as Env, ctx);
    const set = (await res.json()) as { keys: { kid: string; n: string }[] };
    expect(set.keys.map((k) => k.kid)[0]).toBe("gateway-2026-12");
    expect(set.keys).toHaveLength(2);
    expect(set.keys[0].n).toBe(nextJwk.n);
    // The first key signs.
    const { body } = await buildSignedEnvelope({ ...env, ...rotated } as unknown as Env, "program", "create", { name: "x" });
    const e = JSON.parse(body);
    expect(
      await verifyEnvelope([(await importJWK({ kty: "RSA", n: nextJwk.n, e: nextJwk.e }, "RS256")) as CryptoKey], e.signature, e.header, e.message),
    ).toBe(true);
    const missing = await createApp().fetch(
      new Request("http://gw/.well-known/jwks.json"),
      { ...env, IFIX_SIGNING_KEY: undefined } as unknown as Env,
      ctx,
    );
    expect(missing.status).toBe(503);
  });
});
