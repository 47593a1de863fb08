import { sql, type SQL } from "drizzle-orm";
import type { Db } from "./db";
import { auditLog } from "./schema/audit-log";
import { redact } from "../lib/redact";

export interface AuditEntry {
  actor: string;
  action: string;
  targetType: string;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
}

const values = (e: AuditEntry) => ({
  at: new Date().toISOString(),
  actor: e.actor,
  action: e.action,
  targetType: e.targetType,
  targetId: e.targetId ?? null,
  before: e.before === undefined ? null : redact(e.before),
  after: e.after === undefined ? null : redact(e.after),
  requestId: e.requestId ?? null,
});

/** The insert for an audit row, to run alone or inside the D1 batch of the change it records. */
export function auditInsert(db: Db, e: AuditEntry) {
  return db.insert(auditLog).values(values(e));
}

/**
 * An audit row written only where `condition` holds when the statement runs: placed before a guarded
 * change in the same D1 batch, with the change's own guard as the condition, it exists exactly when
 * the change applies (a lost race leaves no audit row claiming it happened). A post-condition after
 * the change cannot do this: a concurrent change that won may leave the same state.
 */
export function auditInsertWhere(db: Db, e: AuditEntry, condition: SQL) {
  const v = values(e);
  const json = (x: unknown) => (x === null ? null : JSON.stringify(x));
  return db.insert(auditLog).select(
    db
      .select({
        id: sql`NULL`.as("id"), // the table's autoincrement key
        at: sql`${v.at}`.as("at"),
        actor: sql`${v.actor}`.as("actor"),
        action: sql`${v.action}`.as("action"),
        targetType: sql`${v.targetType}`.as("target_type"),
        targetId: sql`${v.targetId}`.as("target_id"),
        before: sql`${json(v.before)}`.as("before"),
        after: sql`${json(v.after)}`.as("after"),
        requestId: sql`${v.requestId}`.as("request_id"),
      })
      .from(sql`(SELECT 1)`)
      .where(condition),
  );
}
