import { call } from "../helpers/gateway";

export const uid = () => crypto.randomUUID().slice(0, 8);

export function account(over: Partial<{ tenantId: string; headOfAccount: string; ssuCode: string }> = {}) {
  return { tenantId: `pb.t${uid()}`, headOfAccount: `2215-01-${uid()}`, ssuCode: `SSU-${uid()}`, ...over };
}

export type Account = ReturnType<typeof account>;

export const allot = (token: string, acc: Account, type: string, amount: number, txnId = `VA/${crypto.randomUUID()}`) =>
  call("POST", "/v1/funds/allotments", { token, body: { txnId, ...acc, type, amount } });

export async function summaryOf(token: string, tenantId: string) {
  const r = await call("GET", `/v1/funds/summary?tenantId=${encodeURIComponent(tenantId)}`, { token });
  if (r.status !== 200) throw new Error(`summary ${r.status} ${r.text}`);
  return r.json.items as { tenantId: string; headOfAccount: string; ssuCode: string; allotted: number; withdrawn: number; committed: number; available: number }[];
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
