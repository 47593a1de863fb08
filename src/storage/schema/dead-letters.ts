import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/** Messages the queues gave up on, kept for operators to inspect and replay (issue 6). */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    id: text("id").primaryKey(),
    queue: text("queue").notNull(),
    kind: text("kind").notNull(),
    subjectId: text("subject_id"),
    body: text("body", { mode: "json" }).notNull(),
    reason: text("reason"),
    createdAt: text("created_at").notNull(),
    replayedAt: text("replayed_at"),
    replayCount: integer("replay_count").notNull().default(0),
  },
  (t) => [index("dead_letters_created_idx").on(t.createdAt), index("dead_letters_subject_idx").on(t.kind, t.subjectId)],
);
