import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/**
 * Open deliveries of fiscal messages (the outbox). Written in the same D1 batch as the message; the
 * queue send happens after. `lease_until` null = never handed to the queue; a consumer claims an
 * attempt by bumping `attempt` from the value its queue message carries (duplicates claim nothing).
 * The sweep re-sends rows never sent or whose lease expired. Deleted when delivery ends.
 */
export const fiscalOutbox = sqliteTable(
  "fiscal_outbox",
  {
    messageId: text("message_id").primaryKey(),
    attempt: integer("attempt").notNull().default(0),
    leaseUntil: integer("lease_until"), // epoch ms
    createdAt: integer("created_at").notNull(), // epoch ms
  },
  (t) => [index("fiscal_outbox_lease_idx").on(t.leaseUntil)],
);
