import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

export const DELIVERY_OUTCOMES = ["accepted", "pending", "rejected", "conflict", "unauthorized", "retry", "timeout", "network", "failed"] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/**
 * Every attempt to deliver a claim (when, outcome, upstream status, duration), and each poll whose
 * outcome differs from the one before (the claim row counts every poll): a PENDING claim polled for
 * weeks adds rows only when something changes. Poll rows expire with the transaction log.
 */
export const claimDeliveries = sqliteTable(
  "claim_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    claimId: text("claim_id").notNull(),
    operation: text("operation", { enum: ["submit", "poll"] }).notNull(),
    attempt: integer("attempt").notNull(),
    at: text("at").notNull(),
    outcome: text("outcome", { enum: DELIVERY_OUTCOMES }).notNull(),
    httpStatus: integer("http_status"),
    durationMs: integer("duration_ms").notNull(),
    errorCode: text("error_code"),
  },
  (t) => [index("claim_deliveries_claim_idx").on(t.claimId, t.id), index("claim_deliveries_operation_at_idx").on(t.operation, t.at)],
);
