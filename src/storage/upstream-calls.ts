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
 * Rows reported during one request (or one queue batch), written together after its answer: one D1
 * batch of multi-row inserts instead of one write per portal call. The buffer belongs to the request
 * that made it, never to the isolate: a write pending in one request's context, handed to another
 * request's waitUntil, is I/O on behalf of a different request, which workerd refuses ("Cannot
 * perform I/O on behalf of a different request"), and the rows were lost with it.
 */
class TransactionLogBuffer {
  private rows: UpstreamCall[] = [];
  private pending: Promise<void> | null = null;

  constructor(private readonly d1: D1Database) {}

  add(row: UpstreamCall): Promise<void> {
    this.rows.push(row);
    if (this.rows.length >= MAX_ROWS_PER_FLUSH) return this.flush();
    this.pending ??= new Promise<void>((resolve) => setTimeout(resolve, FLUSH_AFTER_MS)).then(() => this.flush());
    return this.pending;
  }

  async flush(): Promise<void> {
    this.pending = null;
    const rows = this.rows.splice(0, MAX_ROWS_PER_FLUSH);
    if (!rows.length) return;
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
    if (this.rows.length) await this.flush();
  }
}

/**
 * The transaction log as a recorder for adapters, made once per request. With `defer`
 * (ctx.waitUntil), rows are written after the response, batched with the request's other rows (see
 * TransactionLogBuffer); without it, each row is written before the call returns.
 */
export function transactionLog(db: Db, defer?: (work: Promise<unknown>) => void): UpstreamCallRecorder {
  if (!defer) return (report) => recordUpstreamCall(db, report);
  const b = new TransactionLogBuffer(db.$client);
  return (report) => defer(b.add(toRow(report)));
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
