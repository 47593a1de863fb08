import { sqliteTable, text, integer, primaryKey } from "drizzle-orm/sqlite-core";

/** The monthly reconciliation kept by the sweep: counts and amounts per period, client and status. */
export const claimReconciliations = sqliteTable(
  "claim_reconciliations",
  {
    period: text("period").notNull(),
    ownerId: text("owner_id").notNull(),
    status: text("status").notNull(),
    claimCount: integer("claim_count").notNull(),
    totalPaise: integer("total_paise").notNull(),
    computedAt: text("computed_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.period, t.ownerId, t.status] })],
);
