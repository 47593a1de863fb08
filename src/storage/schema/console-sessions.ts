import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

export const CONSOLE_SESSION_KINDS = ["admin", "client", "person"] as const;

/**
 * Operators' console sessions, one row each, checked on every console request so that signing out
 * ends a session on the server side (a copied cookie or Access assertion is refused afterwards).
 * `id` is the SHA-256 of what the browser presents (the console cookie's random token, or the
 * Cloudflare Access assertion): a read of this table gives nobody a usable session.
 * `key_check` (admin sessions) is an HMAC of ADMIN_API_KEY keyed with JWT_SIGNING_KEY, so changing
 * the admin key ends admin sessions; it cannot be cracked offline without the signing key.
 * Rows are pruned a day after they expire.
 */
export const consoleSessions = sqliteTable(
  "console_sessions",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: CONSOLE_SESSION_KINDS }).notNull(),
    /** "admin", the client id, or the person's email. */
    subject: text("subject").notNull(),
    /** Client sessions: the client's generation at sign-in (a rotation ends the session). */
    generation: integer("generation"),
    keyCheck: text("key_check"),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    endedAt: text("ended_at"),
  },
  (t) => [index("console_sessions_expires_idx").on(t.expiresAt)],
);
