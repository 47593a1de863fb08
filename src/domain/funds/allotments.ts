import { and, eq } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { fundsAllotments } from "../../storage/schema/funds-allotments";
import { GatewayError } from "../../errors";
import { auditInsert } from "../../storage/audit";
import { paiseToRupees } from "../../lib/money";
import { accountStub, balanceView, projectBalance, registerAccount, type AccountKey } from "./accounts";
import type { AllotResult, AllotmentType, Balance } from "./types";

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
}

export interface AllotmentView {
  txnId: string;
  tenantId: string;
  headOfAccount: string;
  ssuCode: string;
  type: AllotmentType;
  amount: number;
  balance: ReturnType<typeof balanceView>;
  createdAt: string;
}

const view = (i: AllotmentInput, r: AllotResult & { ok: true }): AllotmentView => ({
  txnId: i.txnId,
  tenantId: i.tenantId,
  headOfAccount: i.headOfAccount,
  ssuCode: i.ssuCode,
  type: i.type,
  amount: paiseToRupees(i.amount),
  balance: balanceView(r.balance),
  createdAt: r.at,
});

const sameContent = (row: typeof fundsAllotments.$inferSelect, i: AllotmentInput) =>
  row.tenantId === i.tenantId && row.headOfAccount === i.headOfAccount && row.ssuCode === i.ssuCode && row.type === i.type && row.amount === i.amount;

/**
 * Applies an allotment once per txnId. The D1 row claims the txnId for its client (another client's
 * txnId → 409 without content); the Durable Object applies the change atomically and is itself
 * idempotent on txnId, so a retry after any crash completes the same transaction, never a second.
 */
export async function applyAllotment(env: Env, db: Db, ownerId: string, i: AllotmentInput, actor: string, requestId: string): Promise<{ status: 200 | 201; body: AllotmentView }> {
  const now = new Date().toISOString();
  const claim = db
    .insert(fundsAllotments)
    .values({ txnId: i.txnId, ownerId, tenantId: i.tenantId, headOfAccount: i.headOfAccount, ssuCode: i.ssuCode, type: i.type, amount: i.amount, state: "PENDING", createdAt: now })
    .onConflictDoNothing();
  // Only an initial allotment can bring an account into being, so only it registers one (before the
  // object changes, for the sweep to find); the other types on an unknown account change nothing.
  if (i.type === "INITIAL_ALLOTMENT") await db.batch([claim, registerAccount(db, i)]);
  else await claim.run();
  const row = await db.select().from(fundsAllotments).where(eq(fundsAllotments.txnId, i.txnId)).get();
  if (!row || row.ownerId !== ownerId) throw new GatewayError("CONFLICT", "this txnId is already in use");
  if (!sameContent(row, i)) {
    throw new GatewayError("IDEMPOTENCY_CONFLICT", "this txnId was used with different content");
  }
  if (row.state === "APPLIED" && row.result) return { status: 200, body: row.result as AllotmentView };

  const r = await accountStub(env, i).allot(i.txnId, i.type, i.amount);
  if (!r.ok) {
    // Nothing changed: free the txnId so the same transaction can be sent again later.
    await db.delete(fundsAllotments).where(and(eq(fundsAllotments.txnId, i.txnId), eq(fundsAllotments.state, "PENDING"))).run();
    if (r.code === "SANCTION_EXISTS") throw new GatewayError("SANCTION_EXISTS", "this account already has its initial allotment");
    if (r.code === "SANCTION_NOT_FOUND") throw new GatewayError("SANCTION_NOT_FOUND", "no initial allotment for this account yet");
    if (r.code === "TOTAL_TOO_LARGE") {
      throw new GatewayError("VALIDATION_FAILED", "the account's allotted total would be larger than amounts are held exactly", {
        details: [{ path: "amount", message: `at most ${paiseToRupees(Number.MAX_SAFE_INTEGER - r.balance.allotted)} more can be allotted to this account` }],
      });
    }
    if (r.code === "INSUFFICIENT_FUNDS") {
      throw new GatewayError("INSUFFICIENT_FUNDS", "the withdrawal is more than the available funds", { details: [{ available: paiseToRupees(r.balance.available) }] });
    }
    throw new GatewayError("IDEMPOTENCY_CONFLICT", "this txnId was used with different content");
  }
  const body = view(i, r);
  const before: Balance = { ...r.balance };
  if (i.type === "INITIAL_ALLOTMENT") Object.assign(before, { sanctioned: false, allotted: 0, withdrawn: 0, committed: 0, available: 0 });
  else if (i.type === "ADDITIONAL_ALLOTMENT") Object.assign(before, { allotted: r.balance.allotted - i.amount, available: r.balance.available - i.amount });
  else Object.assign(before, { withdrawn: r.balance.withdrawn - i.amount, available: r.balance.available + i.amount });
  await db.batch([
    db
      .insert(fundsAllotments)
      .values({ txnId: i.txnId, ownerId, tenantId: i.tenantId, headOfAccount: i.headOfAccount, ssuCode: i.ssuCode, type: i.type, amount: i.amount, state: "APPLIED", seq: r.seq, result: body, createdAt: now })
      .onConflictDoUpdate({ target: fundsAllotments.txnId, set: { state: "APPLIED", seq: r.seq, result: body } }),
    projectBalance(db, i, r.balance),
    ...(r.duplicate
      ? []
      : [
          auditInsert(db, {
            actor,
            action: "funds.allotment",
            targetType: "funds_account",
            targetId: `${i.tenantId}/${i.headOfAccount}/${i.ssuCode}`,
            before: { ...balanceView(before) },
            after: { txnId: i.txnId, type: i.type, amount: paiseToRupees(i.amount), ...balanceView(r.balance) },
            requestId,
          }),
        ]),
  ]);
  return { status: r.duplicate ? 200 : 201, body };
}
