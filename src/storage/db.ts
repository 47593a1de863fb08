import { drizzle } from "drizzle-orm/d1";

/**
 * Drizzle over D1 (or a D1 session). No relational schema is registered: the code uses the query
 * builder only (`db.select().from(table)`), and building the relational config cost every request
 * that opens a session a measurable slice of its CPU.
 */
export function createDb(d1: D1Database) {
  return drizzle(d1);
}

export type Db = ReturnType<typeof createDb>;

export const nowIso = () => new Date().toISOString();
