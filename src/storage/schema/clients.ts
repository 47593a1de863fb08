import { sql } from "drizzle-orm";
import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/** API callers. Secrets and keys are stored only as SHA-256 hashes; both are shown once. */
export const clients = sqliteTable(
  "clients",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    /** Tenant ids whose funds and fiscal messages it may touch; ["*"] = all, [] = none (CONTRACT §4). */
    tenants: text("tenants", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    secretHash: text("secret_hash").notNull(),
    apiKeyHash: text("api_key_hash").notNull().unique(),
    /** Bumped by rotation: tokens carry it, so a rotation or revocation ends old tokens at once. */
    generation: integer("generation").notNull().default(1),
    revokedAt: text("revoked_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("clients_revoked_idx").on(t.revokedAt)],
);
