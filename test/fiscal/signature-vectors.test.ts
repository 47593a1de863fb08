import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { importSPKI } from "jose";
import vectors from "../fixtures/ifix-signature-vectors.json";
import rfc8785 from "../fixtures/rfc8785.json";
import { canonicalize } from "../../src/adapters/ifix/jcs";
import { verifyEnvelope } from "../../src/adapters/ifix/signing";
import { receiveCallback } from "../../src/domain/fiscal/callbacks";
import { createDb } from "../../src/storage/db";
import { GatewayError } from "../../src/errors";
import type { Env } from "../../src/env";

/**
 * Vectors made outside the codebase (issue 14, item 7): RFC 8785's own examples, and signatures
 * computed by node:crypto over hand-written canonical bytes (test/fixtures/make-ifix-vectors.mjs).
 * A bug shared by the gateway's signer and verifier cannot hide behind them.
 */
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
const withTrust = (scope: "header+message" | "message" = "header+message") =>
  ({
    ...env,
    IFIX_TRUSTED_KEYS: JSON.stringify({ [vectors.header.sender_id]: [vectors.publicKeyPem] }),
    IFIX_SIGNATURE_SCOPE: scope,
  }) as unknown as Env;

describe("JCS against RFC 8785's own examples", () => {
  for (const c of rfc8785.cases) {
    it(c.name, () => {
      expect(canonicalize(JSON.parse(c.input))).toBe(c.output);
    });
  }
});

describe("iFIX signatures against vectors made by node:crypto over hand-written canonical bytes", () => {
  it("the gateway's JCS gives exactly the hand-written bytes", () => {
    expect(canonicalize(vectors.header)).toBe(vectors.canonicalHeader);
    expect(canonicalize(vectors.message)).toBe(vectors.canonicalMessage);
  });

  it("the gateway verifies both vectors (header+message, and message alone)", async () => {
    const key = (await importSPKI(vectors.publicKeyPem, "RS256")) as CryptoKey;
    expect(await verifyEnvelope([key], vectors.signatureHeaderMessage, vectors.header, vectors.message)).toBe(true);
    expect(await verifyEnvelope([key], vectors.signatureMessageOnly, { anything: 1 }, vectors.message, "message")).toBe(true);
    expect(await verifyEnvelope([key], vectors.signatureMessageOnly, vectors.header, vectors.message)).toBe(false);
  });

  it("the callback route: the vector's signature holds (it is only stale); each single change is BAD_SIGNATURE", async () => {
    const db = createDb(env.DB);
    const E = withTrust();
    const post = (header: unknown, message: unknown, signature = vectors.signatureHeaderMessage) =>
      receiveCallback(E, db, "disburse", { signature, header, message });
    // Whitespace and key order on the wire do not matter: still verified (and so refused only for its age).
    const reordered = Object.fromEntries(Object.entries(vectors.message).reverse());
    await expect(post(vectors.header, reordered)).rejects.toMatchObject({ code: "STALE_MESSAGE" });

    const tampers: [string, (h: any, m: any) => void][] = [
      ["header.message_ts + 1", (h) => (h.message_ts += 1)],
      ["header.message_id", (h) => (h.message_id = h.message_id.replace(/4$/, "5"))],
      ["header.sender_uri", (h) => (h.sender_uri += "x")],
      ["header.receiver_id", (h) => (h.receiver_id = "amrit@https://other.example")],
      ["header.action", (h) => (h.action = "create")],
      ["an extra header field", (h) => (h.message_type = "disburse")],
      ["message.net_amount", (_h, m) => (m.net_amount = 1000.51)],
      ["message.status.status_code", (_h, m) => (m.status.status_code = "FAILED")],
      ["a nested child's account_code", (_h, m) => (m.children[0].account_code = "1234567891@SBIN0003491")],
      ["a name's diaeresis decomposed (ö → o + U+0308)", (_h, m) => (m.individual.name = "Jo\u0308hn")],
      ["a number as a string", (_h, m) => (m.individual.phone = "9876543210")],
      ["a field removed", (_h, m) => delete m.additional_details],
      ["a field added", (_h, m) => (m.note = "x")],
    ];
    for (const [what, change] of tampers) {
      const h = clone(vectors.header);
      const m = clone(vectors.message);
      change(h, m);
      await expect(post(h, m), what).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
    }
    const sig = vectors.signatureHeaderMessage;
    const flipped = sig.slice(0, 20) + (sig[20] === "A" ? "B" : "A") + sig.slice(21);
    await expect(post(vectors.header, vectors.message, flipped)).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
    await expect(post(vectors.header, vectors.message, vectors.signatureMessageOnly)).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
  });

  it("with IFIX_SIGNATURE_SCOPE=message only the message is covered", async () => {
    const db = createDb(env.DB);
    const E = withTrust("message");
    const post = (header: unknown, message: unknown) =>
      receiveCallback(E, db, "disburse", { signature: vectors.signatureMessageOnly, header, message });
    await expect(post({ ...vectors.header, message_ts: 1 }, vectors.message)).rejects.toMatchObject({ code: "STALE_MESSAGE" });
    const m = clone(vectors.message);
    m.net_amount = 1;
    await expect(post(vectors.header, m)).rejects.toBeInstanceOf(GatewayError);
    await expect(post(vectors.header, m)).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
  });
});
