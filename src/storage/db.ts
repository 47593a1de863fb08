import { drizzle } from "drizzle-orm/d1";
import * as clients from "./schema/clients";
import * as auditLog from "./schema/audit-log";
import * as deadLetters from "./schema/dead-letters";
import * as upstreamCalls from "./schema/upstream-calls";

export const schema = { ...clients, ...auditLog, ...deadLetters, ...upstreamCalls };

export function createDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

export type Db = ReturnType<typeof createDb>;

export const nowIso = () => new Date().toISOString();
