import type { Db } from "./db";
import { upstreamCalls } from "./schema/upstream-calls";
import { redact } from "../lib/redact";

export type UpstreamCall = typeof upstreamCalls.$inferInsert;

const MAX_BODY = 4_000;

function clip(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  const text = typeof body === "string" ? body : JSON.stringify(redact(body));
  return text.length > MAX_BODY ? `${text.slice(0, MAX_BODY)}…` : text;
}

/** Records one call in the transaction log. Never throws: the log must not break the call it logs. */
export async function recordUpstreamCall(db: Db, call: Omit<UpstreamCall, "at" | "requestBody" | "responseBody"> & { requestBody?: unknown; responseBody?: unknown }) {
  try {
    await db.insert(upstreamCalls).values({
      ...call,
      at: new Date().toISOString(),
      requestBody: clip(call.requestBody),
      responseBody: clip(call.responseBody),
    });
  } catch {
    /* the transaction log is best-effort */
  }
}
