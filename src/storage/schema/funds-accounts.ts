import { sqliteTable, text, integer, index, primaryKey } from "drizzle-orm/sqlite-core";

/**
 * Funds accounts (tenant + head of account + SSU) and the summary projection of their balances
 * (paise), written by each account's Durable Object (the truth), upserted only with a higher `seq`,
 * so the projection converges whatever the order or the crash. Which accounts a tenant has is read
 * from here (existence, not money) to choose a paying account; balances are never read to decide.
 * `pi_synced_seq` is unused since the objects project themselves.
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
