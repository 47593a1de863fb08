import { sqliteTable, text, integer, index, primaryKey } from "drizzle-orm/sqlite-core";

/**
 * Registry of funds accounts (tenant + head of account + SSU) and the summary projection of their
 * balances (paise). The Durable Object FundsAccount is the truth; a row is registered before the
 * object is first changed, and balances are upserted only with a higher `seq`, so the projection
 * converges whatever order or crash. `pi_synced_seq` is the object's seq up to which the sweep has
 * copied payment-instruction states into D1.
 */
export const fundsAccounts = sqliteTable(
  "funds_accounts",
  {
    tenantId: text("tenant_id").notNull(),
    headOfAccount: text("head_of_account").notNull(),
    ssuCode: text("ssu_code").notNull(),
    sanctioned: integer("sanctioned", { mode: "boolean" }).notNull().default(false),
    allotted: integer("allotted").notNull().default(0),
    withdrawn: integer("withdrawn").notNull().default(0),
    committed: integer("committed").notNull().default(0),
    available: integer("available").notNull().default(0),
    seq: integer("seq").notNull().default(0),
    piSyncedSeq: integer("pi_synced_seq").notNull().default(0),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.headOfAccount, t.ssuCode] }), index("funds_accounts_available_idx").on(t.tenantId, t.available)],
);
