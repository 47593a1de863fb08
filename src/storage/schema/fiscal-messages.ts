import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

export const IFIX_TYPES = ["program", "estimate", "sanction", "allocation", "disburse", "demand", "receipt"] as const;
export const IFIX_STATUSES = [
  "RECEIVED", "APPROVED", "REJECTED", "INPROCESS", "INITIATED", "ERROR",
  "SUCCESSFUL", "FAILED", "PARTIAL", "ACTIVE", "INACTIVE", "COMPLETED",
] as const;
/** QUEUED until iFIX acknowledges the message; then iFIX's own statuses (CONTRACT §7). */
export const FISCAL_MESSAGE_STATUSES = ["QUEUED", ...IFIX_STATUSES] as const;
export const FISCAL_DELIVERY_STATUSES = ["QUEUED", "DELIVERED", "REJECTED", "FAILED"] as const;

/**
 * The iFIX exchange ledger: one row per outgoing signed message. `wire_body` holds the exact signed
 * bytes (AES-GCM encrypted at rest: it names individuals and beneficiaries); every re-send carries them.
 */
export const fiscalMessages = sqliteTable(
  "fiscal_messages",
  {
    id: text("id").primaryKey(), // header.message_id
    ownerId: text("owner_id").notNull(),
    type: text("type", { enum: IFIX_TYPES }).notNull(),
    action: text("action", { enum: ["create", "update"] }).notNull(),
    /** For `update`: the message it updates. */
    parentId: text("parent_id"),
    transactionId: text("transaction_id"),
    linkedId: text("linked_id"),
    /** Set when the message is a payment instruction's disburse. */
    piId: text("pi_id"),
    status: text("status", { enum: FISCAL_MESSAGE_STATUSES }).notNull(),
    statusMessage: text("status_message"),
    deliveryStatus: text("delivery_status", { enum: FISCAL_DELIVERY_STATUSES }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastHttpStatus: integer("last_http_status"),
    lastError: text("last_error"),
    wireBody: text("wire_body").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    deliveredAt: text("delivered_at"),
  },
  (t) => [
    index("fiscal_messages_txn_idx").on(t.transactionId),
    index("fiscal_messages_linked_idx").on(t.linkedId),
    index("fiscal_messages_owner_idx").on(t.ownerId, t.createdAt),
    index("fiscal_messages_status_idx").on(t.deliveryStatus, t.status),
    index("fiscal_messages_pi_idx").on(t.piId),
  ],
);
