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

// 14 columns: 7 rows per statement keep under D1's 100 bound parameters.
const ROWS_PER_STATEMENT = 7;
/** How long a row waits for others to share its write; and the most rows one flush takes. */
export const FLUSH_AFTER_MS = 50;
const MAX_ROWS_PER_FLUSH = 7 * 40;

/**
 * Rows reported during the requests of one isolate, written together: one D1 batch of multi-row
 * inserts per FLUSH_AFTER_MS instead of one write per portal call (D1 has one primary: at a few
 * hundred calls a second, a write each would be most of its load). Each request that adds a row
 * keeps the pending flush alive with waitUntil, so nothing is dropped when the isolate goes idle.
 */
class TransactionLogBuffer {
  private rows: UpstreamCall[] = [];
  private pending: Promise<void> | null = null;

  add(db: Db, row: UpstreamCall): Promise<void> {
    this.rows.push(row);
    if (this.rows.length >= MAX_ROWS_PER_FLUSH) return this.flush(db);
    this.pending ??= new Promise<void>((resolve) => setTimeout(resolve, FLUSH_AFTER_MS)).then(() => this.flush(db));
    return this.pending;
  }

  async flush(db: Db): Promise<void> {
    this.pending = null;
    const rows = this.rows.splice(0, MAX_ROWS_PER_FLUSH);
    if (!rows.length) return;
    const statements = [];
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) statements.push(db.insert(upstreamCalls).values(rows.slice(i, i + ROWS_PER_STATEMENT)));
    try {
      await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
    } catch {
      /* the transaction log is best-effort */
    }
    if (this.rows.length) await this.flush(db);
  }
}

const buffers = new WeakMap<Db, TransactionLogBuffer>();

/**
 * The transaction log as a recorder for adapters. With `defer` (ctx.waitUntil), rows are written
 * after the response, batched with the isolate's other rows (see TransactionLogBuffer); without it,
 * each row is written before the call returns.
 */
export function transactionLog(db: Db, defer?: (work: Promise<unknown>) => void): UpstreamCallRecorder {
  if (!defer) return (report) => recordUpstreamCall(db, report);
  let buffer = buffers.get(db);
  if (!buffer) buffers.set(db, (buffer = new TransactionLogBuffer()));
  const b = buffer;
  return (report) => defer(b.add(db, toRow(report)));
}
