import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

// sweep_failure: a row a scheduled sweep could not process; funds_conflict: iFIX reports money moved
// for a payment instruction already FAILED (funds area).
export const ALERT_KINDS = ["upstream_failure_rate", "dead_letters", "sweep_failure", "funds_conflict"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * Operators' alerts raised by the 15-minute cron (issue 6). One row per alert sent (or attempted):
 * `subject` is the portal for failure-rate alerts and `dead_letters` for the backlog alert. An alert
 * for the same kind + subject is not re-sent within an hour while its condition persists.
 * `value` and `threshold` are basis points for rates (2000 = 20%) and counts for the backlog.
 */
export const alerts = sqliteTable(
  "alerts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull(),
    kind: text("kind", { enum: ALERT_KINDS }).notNull(),
    subject: text("subject").notNull(),
    value: integer("value").notNull(),
    threshold: integer("threshold").notNull(),
    message: text("message").notNull(),
    delivery: text("delivery", { enum: ["sent", "failed", "not_configured"] }).notNull(),
    httpStatus: integer("http_status"),
  },
  (t) => [index("alerts_kind_subject_at_idx").on(t.kind, t.subject, t.at), index("alerts_at_idx").on(t.at)],
);
