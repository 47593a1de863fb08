import type { Env } from "../../env";
import { GatewayError } from "../../errors";
import { paiseToRupees } from "../../lib/money";
import { registryFor } from "../../durable-objects/funds-registry";
import { balanceView, forgetTenantAccounts, type AccountKey } from "./accounts";
import type { AllotmentType } from "./types";

/** The JIT virtual-allotment strings are the same three types. */
export const ALLOTMENT_TYPE_ALIASES: Record<string, AllotmentType> = {
  INITIAL_ALLOTMENT: "INITIAL_ALLOTMENT",
  ADDITIONAL_ALLOTMENT: "ADDITIONAL_ALLOTMENT",
  ALLOTMENT_WITHDRAWAL: "ALLOTMENT_WITHDRAWAL",
  "Initial Allotment": "INITIAL_ALLOTMENT",
  "Additional allotment": "ADDITIONAL_ALLOTMENT",
  "Allotment withdrawal": "ALLOTMENT_WITHDRAWAL",
};

export interface AllotmentInput extends AccountKey {
  txnId: string;
  type: AllotmentType;
  amount: number; // paise
  /** The program the account's funds belong to (INITIAL_ALLOTMENT): a PI's disburse carries it. */
  programCode?: string;
}

export interface AllotmentView {
  txnId: string;
  tenantId: string;
  headOfAccount: string;
  ssuCode: string;
  type: AllotmentType;
  amount: number;
  programCode?: string;
  balance: ReturnType<typeof balanceView>;
  createdAt: string;
}

/**
 * Applies an allotment once per txnId. The txnId's registry object holds it for the client that used
 * it first, with that content (another client's → 409 without content; other content → 409); the
 * account's object applies the change, its audit entry and its projection together, and is itself
 * idempotent on txnId, so a retry after any crash completes the same transaction, never a second.
 */
export async function applyAllotment(
  env: Env,
  ownerId: string,
  i: AllotmentInput,
  actor: string,
  requestId: string,
): Promise<{ status: 200 | 201; body: AllotmentView }> {
  const account = { tenantId: i.tenantId, headOfAccount: i.headOfAccount, ssuCode: i.ssuCode };
  const o = await registryFor(env, "txn", i.txnId).allot({
    account,
    txnId: i.txnId,
    ownerId,
    type: i.type,
    amount: i.amount,
    programCode: i.programCode ?? null,
    actor,
    requestId,
  });
  if (o.kind === "foreign") throw new GatewayError("CONFLICT", "this txnId is already in use");
  if (o.kind === "content") throw new GatewayError("IDEMPOTENCY_CONFLICT", "this txnId was used with different content");
  if (o.kind === "unavailable")
    throw new GatewayError("UNAVAILABLE", "the funds service could not settle this request; try again", { headers: { "Retry-After": "1" } });
  const r = o.result;
  if (!r.ok) {
    if (r.code === "SANCTION_EXISTS") throw new GatewayError("SANCTION_EXISTS", "this account already has its initial allotment");
    if (r.code === "SANCTION_NOT_FOUND") throw new GatewayError("SANCTION_NOT_FOUND", "no initial allotment for this account yet");
    if (r.code === "TXN_FOREIGN") throw new GatewayError("CONFLICT", "this txnId is already in use");
    if (r.code === "TOTAL_TOO_LARGE") {
      throw new GatewayError("VALIDATION_FAILED", "the account's allotted total would be larger than amounts are held exactly", {
        details: [
          { path: "amount", message: `at most ${paiseToRupees(Number.MAX_SAFE_INTEGER - r.balance.allotted)} more can be allotted to this account` },
        ],
      });
    }
    if (r.code === "INSUFFICIENT_FUNDS") {
      throw new GatewayError("INSUFFICIENT_FUNDS", "the withdrawal is more than the available funds", {
        details: [{ available: paiseToRupees(r.balance.available) }],
      });
    }
    throw new GatewayError("IDEMPOTENCY_CONFLICT", "this txnId was used with different content");
  }
  if (i.type === "INITIAL_ALLOTMENT" && !r.duplicate) forgetTenantAccounts(i.tenantId);
  const body: AllotmentView = {
    txnId: i.txnId,
    tenantId: i.tenantId,
    headOfAccount: i.headOfAccount,
    ssuCode: i.ssuCode,
    type: r.type,
    amount: paiseToRupees(r.amount),
    ...(i.programCode ? { programCode: i.programCode } : {}),
    balance: balanceView(r.balance),
    createdAt: r.at,
  };
  return { status: r.duplicate ? 200 : 201, body };
}
