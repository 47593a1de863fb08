import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

export interface CatalogueActivity {
  code: string;
  name: string;
  /** Rate per unit, in paise (whole rupees on the API). */
  amountPaise: number;
}

/**
 * Versions of the activity catalogue. A version applies to claims whose period is on or after its
 * `effective_from` until a later version's; versions are immutable (claims record the one used).
 */
export const catalogueVersions = sqliteTable(
  "catalogue_versions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    version: text("version").notNull().unique(),
    effectiveFrom: text("effective_from").notNull(),
    activities: text("activities", { mode: "json" }).$type<CatalogueActivity[]>().notNull(),
    contentHash: text("content_hash").notNull(),
    createdAt: text("created_at").notNull(),
    createdBy: text("created_by").notNull(),
  },
  (t) => [index("catalogue_versions_effective_idx").on(t.effectiveFrom, t.id)],
);
