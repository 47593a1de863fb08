import { sqliteTable, text, integer, index, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Verified iFIX `on-*` callbacks: the history of every message's statuses (kept for
 * FISCAL_CALLBACK_RETENTION_DAYS). `dedupe_key` is sender + message_id + content hash, or, with
 * IFIX_SIGNATURE_SCOPE=message (the header is not signed), sender + content hash alone; `answer` is
 * the first answer, given again to a duplicate. Only the header and status are kept, never the
 * message's personal details.
 */
export const fiscalCallbacks = sqliteTable(
  "fiscal_callbacks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    senderId: text("sender_id").notNull(),
    messageId: text("message_id").notNull(),
    contentHash: text("content_hash").notNull(),
    type: text("type").notNull(),
    action: text("action"),
    messageTs: integer("message_ts"), // epoch seconds
    /** The outgoing message it answers (null when none matched). */
    targetMessageId: text("target_message_id"),
    matchedBy: text("matched_by", { enum: ["transaction_id", "linked_id", "message_id", "ambiguous"] }),
    statusCode: text("status_code"),
    statusMessage: text("status_message"),
    answer: text("answer", { mode: "json" }).notNull(),
    dedupeKey: text("dedupe_key"),
    receivedAt: text("received_at").notNull(),
  },
  (t) => [
    uniqueIndex("fiscal_callbacks_dedupe_idx").on(t.senderId, t.messageId, t.contentHash),
    index("fiscal_callbacks_target_idx").on(t.targetMessageId, t.id),
    uniqueIndex("fiscal_callbacks_dedupe_key_idx").on(t.dedupeKey),
    index("fiscal_callbacks_received_idx").on(t.receivedAt, t.id),
  ],
);
