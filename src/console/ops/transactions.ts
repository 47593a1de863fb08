import { z } from "zod";
import { and, desc, eq, gte, lt, lte, inArray, type SQL } from "drizzle-orm";
import type { Db } from "../../storage/db";
import { upstreamCalls } from "../../storage/schema/upstream-calls";
import { redact, redactString } from "../../lib/redact";
import { FAILED_OUTCOMES, PORTALS } from "./overview";

export const OUTCOMES = ["ok", "rejected", "retry", "failed", "timeout", "network"] as const;

/** Filters of the transaction log, shared by the page and the JSON route. */
export const TransactionFilter = z.object({
  portal: z.enum(PORTALS).optional(),
  outcome: z.enum([...OUTCOMES, "failures"]).optional(),
  operation: z.string().trim().max(80).optional(),
  subjectId: z.string().trim().max(160).optional(),
  requestId: z.string().trim().max(160).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type TransactionFilter = z.infer<typeof TransactionFilter>;

export type TransactionRow = typeof upstreamCalls.$inferSelect;

/** Shows a stored body redacted again (it was redacted when stored; display must not trust that). */
export function redactedBody(body: string | null): string | null {
  if (body === null || body === undefined) return null;
  try {
    return JSON.stringify(redact(JSON.parse(body)), null, 2);
  } catch {
    return redactString(body);
  }
}

export async function listTransactions(db: Db, f: TransactionFilter, limit: number, beforeId?: number) {
  const where: SQL[] = [];
  if (f.portal) where.push(eq(upstreamCalls.portal, f.portal));
  if (f.outcome === "failures") where.push(inArray(upstreamCalls.outcome, [...FAILED_OUTCOMES]));
  else if (f.outcome) where.push(eq(upstreamCalls.outcome, f.outcome));
  if (f.operation) where.push(eq(upstreamCalls.operation, f.operation));
  if (f.subjectId) where.push(eq(upstreamCalls.subjectId, f.subjectId));
  if (f.requestId) where.push(eq(upstreamCalls.requestId, f.requestId));
  if (f.from) where.push(gte(upstreamCalls.at, new Date(f.from).toISOString()));
  if (f.to) where.push(lte(upstreamCalls.at, new Date(f.to).toISOString()));
  if (beforeId !== undefined) where.push(lt(upstreamCalls.id, beforeId));
  const rows = await db
    .select()
    .from(upstreamCalls)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(upstreamCalls.id))
    .limit(limit + 1)
    .all();
  const items = rows.slice(0, limit).map((r) => ({ ...r, requestBody: redactedBody(r.requestBody), responseBody: redactedBody(r.responseBody) }));
  return { items, nextBefore: rows.length > limit ? items[items.length - 1].id : null };
}

export async function getTransaction(db: Db, id: number) {
  const r = await db.select().from(upstreamCalls).where(eq(upstreamCalls.id, id)).get();
  return r ? { ...r, requestBody: redactedBody(r.requestBody), responseBody: redactedBody(r.responseBody) } : null;
}
