import { sqliteTable, text, integer, index, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Verified iFIX `on-*` callbacks. (sender_id, message_id, content_hash) is the de-duplication key;
 * `answer` is the first answer, given again to a duplicate. Only the header and status are kept,
 * never the message's personal details.
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
    matchedBy: text("matched_by", { enum: ["transaction_id", "linked_id", "message_id"] }),
    statusCode: text("status_code"),
    statusMessage: text("status_message"),
    answer: text("answer", { mode: "json" }).notNull(),
    receivedAt: text("received_at").notNull(),
  },
  (t) => [
    uniqueIndex("fiscal_callbacks_dedupe_idx").on(t.senderId, t.messageId, t.contentHash),
    index("fiscal_callbacks_target_idx").on(t.targetMessageId, t.id),
  ],
);
