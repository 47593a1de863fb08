import { z } from "zod";
import { and, desc, eq, gte, inArray, isNotNull, lte, sql, type SQL } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { deadLetters } from "../../storage/schema/dead-letters";
import { claims } from "../../storage/schema/claims";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { auditInsert } from "../../storage/audit";
import { GatewayError } from "../../errors";
import { redact } from "../../lib/redact";
import { replayClaim, replayFiscalMessage, type ReplayOutcome } from "./replayers";

export type DeadLetterRow = typeof deadLetters.$inferSelect;

export const DeadLetterFilter = z.object({
  kind: z.string().trim().max(80).optional(),
  queue: z.string().trim().max(120).optional(),
  subjectId: z.string().trim().max(160).optional(),
  state: z.enum(["open", "replayed", "all"]).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type DeadLetterFilter = z.infer<typeof DeadLetterFilter>;

/**
 * A dead letter needs an operator ("open") until it is replayed, and again when its subject has
 * failed anew since the replay: a fiscal message's dead letter keeps its id (`fiscal:<messageId>`), so
 * a second failure after a replay is recorded on the same row and must show up again.
 */
export const openDeadLetter = (): SQL =>
  sql`(${deadLetters.replayedAt} IS NULL
    OR EXISTS (SELECT 1 FROM ${claims} WHERE ${claims.id} = ${deadLetters.subjectId} AND ${claims.status} = 'FAILED' AND ${claims.updatedAt} > ${deadLetters.replayedAt})
    OR EXISTS (SELECT 1 FROM ${fiscalMessages} WHERE ${fiscalMessages.id} = ${deadLetters.subjectId} AND ${fiscalMessages.deliveryStatus} = 'FAILED' AND ${fiscalMessages.updatedAt} > ${deadLetters.replayedAt}))`;

function whereOf(f: DeadLetterFilter, beforeCursor?: { createdAt: string; id: string }): SQL | undefined {
  const where: SQL[] = [];
  if (f.kind) where.push(eq(deadLetters.kind, f.kind));
  if (f.queue) where.push(eq(deadLetters.queue, f.queue));
  if (f.subjectId) where.push(eq(deadLetters.subjectId, f.subjectId));
  const state = f.state ?? "open";
  if (state === "open") where.push(openDeadLetter());
  if (state === "replayed") where.push(and(isNotNull(deadLetters.replayedAt), sql`NOT ${openDeadLetter()}`)!);
  if (f.from) where.push(gte(deadLetters.createdAt, new Date(f.from).toISOString()));
  if (f.to) where.push(lte(deadLetters.createdAt, new Date(f.to).toISOString()));
  if (beforeCursor) {
    where.push(
      sql`(${deadLetters.createdAt} < ${beforeCursor.createdAt} OR (${deadLetters.createdAt} = ${beforeCursor.createdAt} AND ${deadLetters.id} < ${beforeCursor.id}))`,
    );
  }
  return where.length ? and(...where) : undefined;
}

/** What the dead letter is about, for the operator: the claim's or message's current status. */
export interface SubjectState {
  type: "claim" | "fiscal_message" | "unknown";
  status: string | null;
  detail: string | null;
}

export const ownerAreaOf = (row: Pick<DeadLetterRow, "kind" | "body">): "claim" | "fiscal_message" | "unknown" => {
  const body = (row.body ?? {}) as Record<string, unknown>;
  if (typeof body.claimId === "string" || row.kind.startsWith("claim")) return "claim";
  if (typeof body.messageId === "string" || row.kind.startsWith("fiscal")) return "fiscal_message";
  return "unknown";
};

/**
 * The row's own subject id, taken from the message before its body was redacted for storage: the
 * stored body is for reading, never for acting on (redaction may change what it shows).
 */
const subjectIdOf = (row: Pick<DeadLetterRow, "subjectId">): string | null => row.subjectId ?? null;

export async function subjectStates(db: Db, rows: DeadLetterRow[]): Promise<Map<string, SubjectState>> {
  const out = new Map<string, SubjectState>();
  const claimIds = rows
    .filter((r) => ownerAreaOf(r) === "claim")
    .map(subjectIdOf)
    .filter((x): x is string => !!x);
  const msgIds = rows
    .filter((r) => ownerAreaOf(r) === "fiscal_message")
    .map(subjectIdOf)
    .filter((x): x is string => !!x);
  for (let i = 0; i < claimIds.length; i += 90) {
    const part = claimIds.slice(i, i + 90);
    for (const c of await db
      .select({ id: claims.id, status: claims.status, failureCode: claims.failureCode })
      .from(claims)
      .where(inArray(claims.id, part))
      .all()) {
      out.set(c.id, { type: "claim", status: c.status, detail: c.failureCode });
    }
  }
  for (let i = 0; i < msgIds.length; i += 90) {
    const part = msgIds.slice(i, i + 90);
    const msgs = await db
      .select({ id: fiscalMessages.id, status: fiscalMessages.status, deliveryStatus: fiscalMessages.deliveryStatus })
      .from(fiscalMessages)
      .where(inArray(fiscalMessages.id, part))
      .all();
    for (const m of msgs) out.set(m.id, { type: "fiscal_message", status: m.status, detail: `delivery ${m.deliveryStatus}` });
  }
  return out;
}

export function subjectStateOf(states: Map<string, SubjectState>, row: DeadLetterRow): SubjectState {
  const id = subjectIdOf(row);
  return (id && states.get(id)) || { type: ownerAreaOf(row), status: null, detail: null };
}

export async function listDeadLetters(db: Db, f: DeadLetterFilter, limit: number, before?: { createdAt: string; id: string }) {
  const rows = await db
    .select()
    .from(deadLetters)
    .where(whereOf(f, before))
    .orderBy(desc(deadLetters.createdAt), desc(deadLetters.id))
    .limit(limit + 1)
    .all();
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page, next: rows.length > limit ? { createdAt: last.createdAt, id: last.id } : null };
}

export async function getDeadLetter(db: Db, id: string): Promise<DeadLetterRow | null> {
  return (await db.select().from(deadLetters).where(eq(deadLetters.id, id)).get()) ?? null;
}

/** How many dead letters a filter selects (shown before a bulk replay is confirmed). */
export async function countDeadLetters(db: Db, f: DeadLetterFilter): Promise<number> {
  const r = await db.select({ n: sql<number>`count(*)` }).from(deadLetters).where(whereOf(f)).get();
  return Number(r?.n ?? 0);
}

export interface ReplayResult {
  id: string;
  ok: boolean;
  subjectType: string;
  subjectId: string | null;
  /** On success: what the owning area did; on refusal: the error code. */
  outcome: string;
  message: string;
  replayCount?: number;
}

/**
 * Replays one dead letter through the rule of the area that owns it (claims: FAILED → QUEUED with
 * the same bytes, a portal 409 refused; fiscal: the stored signed bytes delivered again), then
 * records the replay on the dead letter and in the audit log in one batch. A subject that is no
 * longer failed (already replayed, or delivered since) is refused: replaying it could duplicate.
 */
export async function replayDeadLetter(env: Env, db: Db, id: string, actor: string, requestId: string | null): Promise<ReplayResult> {
  const row = await getDeadLetter(db, id);
  if (!row) throw new GatewayError("NOT_FOUND", "dead letter not found");
  const area = ownerAreaOf(row);
  const subjectId = subjectIdOf(row);
  if (area === "unknown" || !subjectId) {
    throw new GatewayError("BUSINESS_RULE", `no replay rule for dead letters of kind ${row.kind}: nothing is re-sent`, {
      details: [{ path: "kind", message: row.kind }],
    });
  }
  let outcome: ReplayOutcome;
  if (area === "claim") outcome = await replayClaim(env, db, subjectId, actor, requestId, row.kind);
  else outcome = await replayFiscalMessage(env, db, subjectId, actor, requestId);

  const now = new Date().toISOString();
  const before = { replayedAt: row.replayedAt, replayCount: row.replayCount, subject: { type: area, id: subjectId, status: outcome.before } };
  const after = { replayedAt: now, replayCount: row.replayCount + 1, subject: { type: area, id: subjectId, status: outcome.after } };
  await db.batch([
    db
      .update(deadLetters)
      .set({ replayedAt: now, replayCount: sql`${deadLetters.replayCount} + 1` })
      .where(eq(deadLetters.id, id)),
    auditInsert(db, { actor, action: "dead_letter.replay", targetType: "dead_letter", targetId: id, before, after, requestId }),
  ]);
  return {
    id,
    ok: true,
    subjectType: area,
    subjectId,
    outcome: outcome.after,
    message: `${area === "claim" ? "claim" : "fiscal message"} ${subjectId}: ${outcome.before} → ${outcome.after}`,
    replayCount: row.replayCount + 1,
  };
}

/** Replays every dead letter a filter selects (at most `max`), each through its own rule; refusals are reported, not thrown. */
export async function replayDeadLetters(env: Env, db: Db, f: DeadLetterFilter, max: number, actor: string, requestId: string | null) {
  const { items } = await listDeadLetters(db, f, max);
  const results: ReplayResult[] = [];
  for (const row of items) {
    try {
      results.push(await replayDeadLetter(env, db, row.id, actor, requestId));
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      results.push({ id: row.id, ok: false, subjectType: ownerAreaOf(row), subjectId: subjectIdOf(row), outcome: err.code, message: err.message });
    }
  }
  return results;
}

/** The stored body for display: it was redacted when stored; redact again, never trust that. */
export const displayBody = (row: DeadLetterRow) => JSON.stringify(redact(row.body), null, 2);
