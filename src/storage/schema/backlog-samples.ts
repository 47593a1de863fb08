import { sqliteTable, text, integer } from "drizzle-orm/sqlite-core";

/**
 * The backlogs every 15 minutes (the quarter-hourly cron), for the console's 24-hour chart: queues
 * cannot be asked how deep they are, so depth is read from the ledgers and kept here. Pruned after
 * 7 days.
 */
export const backlogSamples = sqliteTable("backlog_samples", {
  at: text("at").primaryKey(),
  claimsQueued: integer("claims_queued").notNull(),
  claimsPending: integer("claims_pending").notNull(),
  fiscalOutbox: integer("fiscal_outbox").notNull(),
  webhooksPending: integer("webhooks_pending").notNull(),
  deadLettersOpen: integer("dead_letters_open").notNull(),
});
