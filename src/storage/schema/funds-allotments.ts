import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

export const ALLOTMENT_TYPES = ["INITIAL_ALLOTMENT", "ADDITIONAL_ALLOTMENT", "ALLOTMENT_WITHDRAWAL"] as const;

/**
 * Allotment transactions by txnId: a projection of the account objects' ledgers (written APPLIED
 * with the answer given), for reconciliation. The txnId's owner and content are held by the
 * FundsRegistry object; rows PENDING are from before (they decided nothing since).
 */
export const fundsAllotments = sqliteTable(
  "funds_allotments",
  {
    txnId: text("txn_id").primaryKey(),
    ownerId: text("owner_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    headOfAccount: text("head_of_account").notNull(),
    ssuCode: text("ssu_code").notNull(),
    type: text("type", { enum: ALLOTMENT_TYPES }).notNull(),
    amount: integer("amount").notNull(), // paise
    state: text("state", { enum: ["PENDING", "APPLIED"] }).notNull(),
    seq: integer("seq"),
    result: text("result", { mode: "json" }),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("funds_allotments_account_idx").on(t.tenantId, t.headOfAccount, t.ssuCode)],
);
