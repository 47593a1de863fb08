import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/** Every admin and operator action: who, what, when, before → after (CONTRACT §4). */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull(),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id"),
    before: text("before", { mode: "json" }),
    after: text("after", { mode: "json" }),
    requestId: text("request_id"),
  },
  (t) => [
    index("audit_log_at_idx").on(t.at),
    index("audit_log_action_idx").on(t.action, t.at),
    // The console shows a claim's, message's or PI's audit trail, and what a request did (issue 13).
    index("audit_log_target_idx").on(t.targetId),
    index("audit_log_request_idx").on(t.requestId),
  ],
);
