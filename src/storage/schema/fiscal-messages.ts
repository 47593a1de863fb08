import { sql } from "drizzle-orm";
import { sqliteTable, text, integer, index, uniqueIndex } from "drizzle-orm/sqlite-core";

export const IFIX_TYPES = ["program", "estimate", "sanction", "allocation", "disburse", "demand", "receipt"] as const;
export const IFIX_STATUSES = [
  "RECEIVED",
  "APPROVED",
  "REJECTED",
  "INPROCESS",
  "INITIATED",
  "ERROR",
  "SUCCESSFUL",
  "FAILED",
  "PARTIAL",
  "ACTIVE",
  "INACTIVE",
  "COMPLETED",
] as const;
/** QUEUED until iFIX acknowledges the message; then iFIX's own statuses (CONTRACT §7). */
export const FISCAL_MESSAGE_STATUSES = ["QUEUED", ...IFIX_STATUSES] as const;
/** CANCELLED: a PI's disburse that was never sent because its PI FAILED first. */
export const FISCAL_DELIVERY_STATUSES = ["QUEUED", "DELIVERED", "REJECTED", "FAILED", "CANCELLED"] as const;

/**
 * The iFIX exchange ledger: one row per outgoing message. `wire_body` holds the message sealed
 * (AES-GCM under the DATA_ENCRYPTION_KEY ring: it may name individuals) with its header fields; each
 * send signs it afresh (same message_id and content, new message_ts and signature). For a PI's
 * disburse it is "held-by-account": the paying account's object keeps the sealed message and its
 * outbox; this row exists (written before the first send) so that callbacks can be matched.
 * `receiver_id` is whom it was sent to: only that sender's callbacks may update it.
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
    /** header.receiver_id as sent (null: sent before it was recorded; see callbacks' matching). */
    receiverId: text("receiver_id"),
    /** message.location_code: the tenant it concerns (CONTRACT v3 §4). */
    locationCode: text("location_code"),
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
    /** The caller's Idempotency-Key (unique per client), when it sent one. */
    idempotencyKey: text("idempotency_key"),
    /** SHA-256 of what the key stands for (type, action, the message it updates, the message's JCS): a replay must match it. */
    requestHash: text("request_hash"),
  },
  (t) => [
    index("fiscal_messages_txn_idx").on(t.transactionId),
    index("fiscal_messages_linked_idx").on(t.linkedId),
    index("fiscal_messages_owner_idx").on(t.ownerId, t.createdAt),
    index("fiscal_messages_status_idx").on(t.deliveryStatus, t.status),
    index("fiscal_messages_pi_idx").on(t.piId),
    uniqueIndex("fiscal_messages_owner_idem_uq").on(t.ownerId, t.idempotencyKey).where(sql`idempotency_key IS NOT NULL`),
  ],
);
