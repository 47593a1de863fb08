import { sqliteTable, text, integer } from "drizzle-orm/sqlite-core";

/**
 * The last run of each scheduled job (one row per job, overwritten), for the console's
 * configuration health page: when it last started and finished, how long it took, and whether it
 * failed (the error's kind only, never its message).
 */
export const cronRuns = sqliteTable("cron_runs", {
  job: text("job").primaryKey(),
  cron: text("cron").notNull(),
  startedAt: text("started_at").notNull(),
  finishedAt: text("finished_at").notNull(),
  durationMs: integer("duration_ms").notNull(),
  outcome: text("outcome", { enum: ["ok", "failed"] }).notNull(),
  errorKind: text("error_kind"),
  /** The last run that succeeded (null until one has). */
  lastOkAt: text("last_ok_at"),
});
