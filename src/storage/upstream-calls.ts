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

/** Records one call in the transaction log. Never throws: the log must not break the call it logs. */
export async function recordUpstreamCall(db: Db, call: UpstreamCallReport) {
  try {
    await db.insert(upstreamCalls).values({
      ...call,
      attempt: call.attempt ?? 1,
      at: new Date().toISOString(),
      requestBody: clip(call.requestBody),
      responseBody: clip(call.responseBody),
    });
  } catch {
    /* the transaction log is best-effort */
  }
}

/**
 * The transaction log as a recorder for adapters. With `defer` (ctx.waitUntil), rows are written
 * after the response instead of on the request's path.
 */
export function transactionLog(db: Db, defer?: (work: Promise<unknown>) => void): UpstreamCallRecorder {
  return (report) => {
    const write = recordUpstreamCall(db, report);
    if (defer) defer(write);
    else return write;
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
  return db.insert(upstreamCalls).select(sql`SELECT ${sql.join(Object.keys(getTableColumns(upstreamCalls)).map(col), sql`, `)} FROM json_each(${rows}) WHERE 1`);
}
