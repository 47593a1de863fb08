import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/**
 * The transaction log: one row per call to a portal. Operation, status, timing and ids only; for
 * UMANG no bodies at all (no health data is stored). Bodies, where kept, are redacted first.
 */
export const upstreamCalls = sqliteTable(
  "upstream_calls",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull(),
    portal: text("portal", { enum: ["assam", "umang", "ifix", "webhook"] }).notNull(),
    operation: text("operation").notNull(),
    subjectId: text("subject_id"),
    requestId: text("request_id"),
    tracker: text("tracker"),
    attempt: integer("attempt").notNull().default(1),
    outcome: text("outcome", { enum: ["ok", "rejected", "retry", "failed", "timeout", "network"] }).notNull(),
    httpStatus: integer("http_status"),
    durationMs: integer("duration_ms").notNull(),
    errorCode: text("error_code"),
    requestBody: text("request_body"),
    responseBody: text("response_body"),
  },
  (t) => [
    index("upstream_calls_at_idx").on(t.at),
    index("upstream_calls_portal_idx").on(t.portal, t.at),
    index("upstream_calls_subject_idx").on(t.subjectId),
    // The console finds every call a request made (issue 13).
    index("upstream_calls_request_idx").on(t.requestId),
  ],
);
