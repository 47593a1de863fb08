import { getTableColumns, sql } from "drizzle-orm";
import type { Db } from "./db";
import { upstreamCalls } from "./schema/upstream-calls";
import { redact } from "../lib/redact";
import type { UpstreamCallRecorder, UpstreamCallReport } from "../adapters/recorder";

export type UpstreamCall = typeof upstreamCalls.$inferInsert;

const MAX_BODY = 4_000;

function clip(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  const text = typeof body === "string" ? body : JSON.stringify(redact(body));
  return text.length > MAX_BODY ? `${text.slice(0, MAX_BODY)}…` : text;
}

const toRow = (call: UpstreamCallReport, at = new Date().toISOString()): UpstreamCall => ({
  ...call,
  attempt: call.attempt ?? 1,
  at,
  requestBody: clip(call.requestBody),
  responseBody: clip(call.responseBody),
});

/** Records one call in the transaction log now. Never throws: the log must not break the call it logs. */
export async function recordUpstreamCall(db: Db, call: UpstreamCallReport) {
  try {
    await db.insert(upstreamCalls).values(toRow(call));
  } catch {
    /* the transaction log is best-effort */
  }
}

/** How long a row waits for others to share its write; and the most rows one flush takes. */
export const FLUSH_AFTER_MS = 50;
const MAX_ROWS_PER_FLUSH = 280;

// The insert is written once, by hand: building it with the query builder for every row was a
// visible share of a pass-through request's CPU. 13 columns × 7 rows stay under D1's 100 parameters.
const COLUMNS = [
  "at",
  "portal",
  "operation",
  "subject_id",
  "request_id",
  "tracker",
  "attempt",
  "outcome",
  "http_status",
  "duration_ms",
  "error_code",
  "request_body",
  "response_body",
] as const;
const ROWS_PER_STATEMENT = 7;
const insertSql = (rows: number) =>
  `INSERT INTO upstream_calls (${COLUMNS.join(", ")}) VALUES ${Array.from({ length: rows }, () => `(${COLUMNS.map(() => "?").join(", ")})`).join(", ")}`;
const INSERT_FULL = insertSql(ROWS_PER_STATEMENT);
const values = (r: UpstreamCall) => [
  r.at,
  r.portal,
  r.operation,
  r.subjectId ?? null,
  r.requestId ?? null,
  r.tracker ?? null,
  r.attempt ?? 1,
  r.outcome,
  r.httpStatus ?? null,
  r.durationMs,
  r.errorCode ?? null,
  r.requestBody ?? null,
  r.responseBody ?? null,
];

/**
 * Rows reported by the requests of one isolate, written together: one D1 batch of multi-row inserts
 * per FLUSH_AFTER_MS instead of a write per portal call (D1 has one primary; a write per call halved
 * the gateway's pass-through rate in the overhead bench: 233 -> 113 req/s at 10477a3).
 *
 * Only rows (plain data) are shared between requests, never a promise: the request that adds a row
 * to an empty buffer owns the next flush, which it starts and hands to its own waitUntil, and which
 * writes every row present by then, its own and later requests'. A write begun in one request and
 * awaited or handed to waitUntil in another is I/O on behalf of a different request, which workerd
 * refuses (a shared pending flush lost rows that way before 10477a3). A request that finds a flush
 * owned adds its row and defers nothing. An owner whose flush has not come within OWNER_LAPSE_MS (its
 * context gone) is replaced by the next request that adds a row.
 */
export class SharedLog {
  private rows: UpstreamCall[] = [];
  /** When the pending flush's owner took it (0: none pending). */
  private ownedAt = 0;

  constructor(private readonly d1: D1Database) {}

  /** Adds a row; answers the flush this request now owns, or null when another request's flush will write it. */
  add(row: UpstreamCall, now = Date.now()): Promise<void> | null {
    this.rows.push(row);
    if (this.rows.length >= MAX_ROWS_PER_FLUSH) return this.flush();
    if (this.ownedAt && now - this.ownedAt < OWNER_LAPSE_MS) return null;
    this.ownedAt = now;
    return new Promise<void>((resolve) => setTimeout(resolve, FLUSH_AFTER_MS)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    while (this.rows.length) {
      const rows = this.rows.splice(0, MAX_ROWS_PER_FLUSH);
      // Rows added from here on start a flush of their own.
      if (!this.rows.length) this.ownedAt = 0;
      const statements: D1PreparedStatement[] = [];
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const part = rows.slice(i, i + ROWS_PER_STATEMENT);
        statements.push(this.d1.prepare(part.length === ROWS_PER_STATEMENT ? INSERT_FULL : insertSql(part.length)).bind(...part.flatMap(values)));
      }
      try {
        await this.d1.batch(statements);
      } catch {
        /* the transaction log is best-effort */
      }
    }
  }
}

/** A flush's owner that has not written within this long is taken over (a lost context, not a slow write). */
export const OWNER_LAPSE_MS = 10 * FLUSH_AFTER_MS;

// One log per D1 binding object: the isolate's env.DB for every request on it (a request's D1
// session, a separate object, gets a log of its own).
const logs = new WeakMap<object, SharedLog>();

/**
 * The transaction log as a recorder for adapters. With `defer` (ctx.waitUntil), rows are written
 * after the response, batched with the isolate's other rows (see SharedLog); without it, each row is
 * written before the call returns.
 */
export function transactionLog(db: Db, defer?: (work: Promise<unknown>) => void): UpstreamCallRecorder {
  if (!defer) return (report) => recordUpstreamCall(db, report);
  const d1 = db.$client as D1Database;
  let log = logs.get(d1);
  if (!log) logs.set(d1, (log = new SharedLog(d1)));
  const shared = log;
  return (report) => {
    const flush = shared.add(toRow(report));
    if (flush) defer(flush);
  };
}

/**
 * One statement that records many calls (a queue consumer's batch), for the caller's own D1 batch:
 * the rows travel as one bound JSON parameter, so any number of calls stays one statement.
 */
export function upstreamCallsInsert(db: Db, calls: UpstreamCallReport[]) {
  const at = new Date().toISOString();
  const rows = JSON.stringify(
    calls.map((c) => ({ ...c, at, attempt: c.attempt ?? 1, requestBody: clip(c.requestBody), responseBody: clip(c.responseBody) })),
  );
  const col = (k: string) => (k === "id" ? sql.raw("NULL") : sql.raw(`json_extract(value, '$.${k}')`));
  // Every column in the table's order (the autoincrement id as NULL).
  return db
    .insert(upstreamCalls)
    .select(sql`SELECT ${sql.join(Object.keys(getTableColumns(upstreamCalls)).map(col), sql`, `)} FROM json_each(${rows}) WHERE 1`);
}
