import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

// sweep_failure: a row a scheduled sweep could not process; funds_conflict: iFIX reports money moved
// for a payment instruction already FAILED (funds area); portal_refused: the Assam portal refused a
// claim outright (403, 415, …); break_glass_sign_in / test: the console.
export const ALERT_KINDS = [
  "upstream_failure_rate",
  "dead_letters",
  "portal_refused",
  "sweep_failure",
  "funds_conflict",
  "break_glass_sign_in",
  "test",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * Operators' alerts raised by the 15-minute cron (issue 6), by a break-glass sign-in to the console
 * with the admin key, or by the console's test button (issue 13). One row per alert sent (or
 * attempted): `subject` is the portal for failure-rate alerts and `dead_letters` for the backlog
 * alert, `console` for the others. An alert
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
