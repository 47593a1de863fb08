import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

export const DELIVERY_OUTCOMES = [
  "accepted",
  "pending",
  "rejected",
  "conflict",
  "unauthorized",
  "retry",
  "timeout",
  "network",
  "failed",
] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** Every attempt to deliver (or poll) a claim: when, outcome, upstream status, duration. */
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
  (t) => [index("claim_deliveries_claim_idx").on(t.claimId, t.id)],
);
