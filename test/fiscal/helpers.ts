import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { call, tokenFor, type TestClient } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
// Callbacks are signed the way the sandbox iFIX signs them: its own JCS and WebCrypto, written from
// the seed, not the gateway's canonicalisation and signer (issue 14, item 7).
import { importPrivatePem, sign, type Scope } from "../../src/sandbox/ifix/crypto";
import type { Scope as ClientScope } from "../../src/domain/security/scopes";

let sandboxKey: Promise<CryptoKey> | undefined;
export const sandboxSigningKey = () => (sandboxKey ??= importPrivatePem(env.TEST_IFIX_SANDBOX_KEY));

export interface CallbackParts {
  header: Record<string, unknown>;
  message: Record<string, unknown>;
}

/** A callback signed as the sandbox iFIX (or with another key). */
export async function signedCallback(parts: CallbackParts, opts: { key?: CryptoKey; scope?: Scope } = {}) {
  const signature = await sign(opts.key ?? (await sandboxSigningKey()), parts.header, parts.message, opts.scope ?? "header+message");
  return { signature, header: parts.header, message: parts.message };
}

export function callbackHeader(over: Record<string, unknown> = {}) {
  return {
    message_id: crypto.randomUUID(),
    message_ts: Math.floor(Date.now() / 1000),
    action: "update",
    sender_id: env.TEST_IFIX_SANDBOX_SENDER,
    sender_uri: "http://sandbox.test/ifix",
    receiver_id: env.IFIX_SENDER_ID,
    ...over,
  };
}

export const postCallback = (type: string, body: unknown) => call("POST", `/ifix/v1/on-${type}`, { body });

/** A client with tenants (CONTRACT v3 §4): ["*"] unless the test narrows them. */
export async function createFiscalClient(scopes: ClientScope[], tenants: string[] = ["*"], name = "fiscal test client"): Promise<TestClient> {
  const created = await call("POST", "/v1/admin/clients", { admin: true, body: { name, scopes, tenants } });
  if (created.status !== 201) throw new Error(`client creation failed: ${created.status} ${created.text}`);
  return { ...created.json, token: await tokenFor(created.json.clientId, created.json.clientSecret) };
}

/** Drains the sandbox's queued callbacks for one request message (or transaction) and posts them to the gateway. */
export async function relayCallbacks(filter: { messageId?: string; transactionId?: string }) {
  const qs = new URLSearchParams(filter as Record<string, string>).toString();
  const drained = await sandbox("GET", `/ifix/__sandbox/callbacks?${qs}`);
  const results = [];
  for (const cb of drained.json.callbacks as { path: string; body: string }[]) {
    results.push(await call("POST", cb.path, { rawBody: cb.body, headers: { "Content-Type": "application/json" } }));
  }
  return results;
}

/** Waits until the gateway's message has left QUEUED (delivered, rejected or failed); fails on timeout. */
export async function waitForDelivery(
  token: string,
  messageId: string,
  until: (m: any) => boolean = (m) => m.deliveryStatus !== "QUEUED",
  timeout = 20_000,
) {
  return vi.waitFor(
    async () => {
      const r = await call("GET", `/v1/fiscal/messages/${messageId}`, { token });
      if (r.status !== 200 || !until(r.json)) throw new Error(`not yet: ${r.status} ${r.json?.deliveryStatus} ${r.json?.attempts}`);
      return r.json;
    },
    { timeout, interval: 100 },
  );
}

export const programInput = (over: Record<string, unknown> = {}) => ({
  name: "Community Development Initiative",
  locationCode: "pb.jalandhar",
  programCode: `PORG/2026-27/${crypto.randomUUID().slice(0, 8)}`,
  ...over,
});

export const disbursementInput = (over: Record<string, unknown> = {}) => ({
  name: "Community Development Initiative",
  linkedId: `sanction:${crypto.randomUUID()}`,
  locationCode: "pb.jalandhar",
  programCode: "PORG/2023-24/00001",
  transactionId: `PI/2026-27/${crypto.randomUUID().slice(0, 12)}`,
  netAmount: 1000.5,
  grossAmount: 1000.5,
  individual: { name: "John", email: "john@example.org", phone: 9876543210, pin: 110001, address: "3476, Gali Bajrang Bali, Delhi" },
  children: [
    { name: "Part one", netAmount: 600.25, grossAmount: 600.25, accountCode: "1234567890@SBIN0003491" },
    { name: "Part two", netAmount: 400.25, grossAmount: 400.25, accountCode: "1234567891@SBIN0003491" },
  ],
  accountCode: "1234567890@SBIN0003491",
  functionCode: "LIVELIHOOD",
  administrationCode: "HUDD",
  recipientSegmentCode: "CBO",
  economicSegmentCode: "PEOPLE",
  sourceOfFundCode: "STATE",
  targetSegmentCode: "MALE",
  currencyCode: "INR",
  localeCode: "LC007",
  additionalDetails: {},
  ...over,
});
