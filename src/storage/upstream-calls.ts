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
