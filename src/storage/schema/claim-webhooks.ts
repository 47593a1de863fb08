import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/**
 * Outbox of claim status-change webhooks (CLAIMS_WEBHOOK_URL): written in the same D1 batch as the
 * change, sent through the WEBHOOKS queue, re-sent by the sweep until delivered (at least once).
 * `payload` is the exact JSON body posted (and signed).
 */
export const claimWebhooks = sqliteTable(
  "claim_webhooks",
  {
    id: text("id").primaryKey(),
    claimId: text("claim_id").notNull(),
    ownerId: text("owner_id").notNull(),
    claimStatus: text("claim_status").notNull(),
    payload: text("payload").notNull(),
    state: text("state", { enum: ["PENDING", "DELIVERED", "FAILED"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    /** Epoch ms: when the next send is due; the sweep re-sends PENDING rows past it. */
    nextAttemptAt: integer("next_attempt_at").notNull(),
    lastHttpStatus: integer("last_http_status"),
    lastError: text("last_error"),
    createdAt: text("created_at").notNull(),
    deliveredAt: text("delivered_at"),
  },
  (t) => [
    index("claim_webhooks_state_due_idx").on(t.state, t.nextAttemptAt),
    index("claim_webhooks_claim_idx").on(t.claimId),
    index("claim_webhooks_state_created_idx").on(t.state, t.createdAt),
  ],
);
