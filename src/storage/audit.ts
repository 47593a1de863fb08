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

/** The insert for an audit row, to run alone or inside the D1 batch of the change it records. */
export function auditInsert(db: Db, e: AuditEntry) {
  return db.insert(auditLog).values({
    at: new Date().toISOString(),
    actor: e.actor,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId ?? null,
    before: e.before === undefined ? null : redact(e.before),
    after: e.after === undefined ? null : redact(e.after),
    requestId: e.requestId ?? null,
  });
}
