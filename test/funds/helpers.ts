import { vi } from "vitest";
import { call, tokenFor, type TestClient } from "../helpers/gateway";
import type { Scope } from "../../src/domain/security/scopes";

export const uid = () => crypto.randomUUID().slice(0, 8);

export function account(over: Partial<{ tenantId: string; headOfAccount: string; ssuCode: string }> = {}) {
  return { tenantId: `pb.t${uid()}`, headOfAccount: `2215-01-${uid()}`, ssuCode: `SSU-${uid()}`, ...over };
}

export type Account = ReturnType<typeof account>;

/** A client with tenants (CONTRACT v3 §4): ["*"] unless the test narrows them. */
export async function createTenantClient(
  scopes: Scope[],
  tenants: string[] = ["*"],
  name = "funds test client",
): Promise<TestClient & { tenants: string[] }> {
  const created = await call("POST", "/v1/admin/clients", { admin: true, body: { name, scopes, tenants } });
  if (created.status !== 201) throw new Error(`client creation failed: ${created.status} ${created.text}`);
  const token = await tokenFor(created.json.clientId, created.json.clientSecret);
  return { ...created.json, token };
}

export const allot = (
  token: string,
  acc: Account,
  type: string,
  amount: number,
  txnId = `VA/${crypto.randomUUID()}`,
  extra: Record<string, unknown> = {},
) => call("POST", "/v1/funds/allotments", { token, body: { txnId, ...acc, type, amount, ...extra } });

export type SummaryItem = {
  tenantId: string;
  headOfAccount: string;
  ssuCode: string;
  allotted: number;
  withdrawn: number;
  committed: number;
  available: number;
};

/** `token` "admin": as the admin key (polling with it does not spend a client's rate limit). */
export async function summaryOf(token: string, tenantId: string): Promise<SummaryItem[]> {
  const r = await call("GET", `/v1/funds/summary?tenantId=${encodeURIComponent(tenantId)}`, token === "admin" ? { admin: true } : { token });
  if (r.status !== 200) throw new Error(`summary ${r.status} ${r.text}`);
  return r.json.items;
}

/**
 * The summary is the objects' projection (written moments after a PI): wait until the account
 * shows `expected`, failing on timeout.
 */
export async function summaryReaches(_token: string, acc: Account, expected: Partial<SummaryItem>, timeout = 10_000) {
  return vi.waitFor(
    async () => {
      const item = (await summaryOf("admin", acc.tenantId)).find((i) => i.headOfAccount === acc.headOfAccount && i.ssuCode === acc.ssuCode);
      for (const [k, v] of Object.entries(expected))
        if (item?.[k as keyof SummaryItem] !== v) throw new Error(`summary ${JSON.stringify(item)} not yet ${JSON.stringify(expected)}`);
      return item!;
    },
    { timeout, interval: 50 },
  );
}

export const pi = (token: string, body: Record<string, unknown>) => call("POST", "/v1/payment-instructions", { token, body });

export function piBody(acc: Partial<Account> & { tenantId: string }, amount: number, over: Record<string, unknown> = {}) {
  return {
    paymentId: `PAY/${crypto.randomUUID()}`,
    ...acc,
    amount,
    beneficiaries: [{ name: "Asha Devi", accountCode: "1234567890@SBIN0003491", amount }],
    ...over,
  };
}
