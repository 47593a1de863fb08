import { sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The wire body of each claim, built once (seed 000 §3.3) and stored: every (re)send carries exactly
 * these bytes, so the portal's idempotency (same submission_id, same payload → 200) always holds.
 */
export const claimSubmissions = sqliteTable("claim_submissions", {
  claimId: text("claim_id").primaryKey(),
  wireBody: text("wire_body").notNull(),
  bodySha256: text("body_sha256").notNull(),
  generatedAt: text("generated_at").notNull(),
});
