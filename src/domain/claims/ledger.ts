import { and, asc, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Env } from "../../env";
import { readVar } from "../../env";
import type { Db } from "../../storage/db";
import { claims, type ClaimStatus } from "../../storage/schema/claims";
import { claimDeliveries, type DeliveryOutcome } from "../../storage/schema/claim-deliveries";
import { claimWebhooks } from "../../storage/schema/claim-webhooks";
import { paiseToRupees } from "../../lib/money";
import { sendWebhooks } from "./outbox";
import { auditInsertWhere, type AuditEntry } from "../../storage/audit";

export type ClaimRow = typeof claims.$inferSelect;
export type DeliveryRow = typeof claimDeliveries.$inferSelect;
export type Statement = Parameters<Db["batch"]>[0][number];

/** How long a freshly written QUEUED claim may wait for its queue message before the sweep re-sends it. */
export const ENQUEUE_GRACE_MS = 5 * 60_000;

/**
 * The moves a claim's status may make (CONTRACT §5: never backwards, an ACCEPTED claim is never
 * PENDING again). FAILED may go back to QUEUED (an operator's replay) or to what the portal's status
 * says once it settles an ambiguous failure; an ACCEPTED claim the portal later rejects becomes
 * REJECTED. REJECTED and CANCELLED are final.
 */
const MOVES: Record<ClaimStatus, readonly ClaimStatus[]> = {
  SCHEDULED: ["QUEUED", "CANCELLED"],
  QUEUED: ["PENDING", "ACCEPTED", "REJECTED", "FAILED"],
  PENDING: ["ACCEPTED", "REJECTED"],
  ACCEPTED: ["REJECTED"],
  FAILED: ["QUEUED", "PENDING", "ACCEPTED", "REJECTED"],
  REJECTED: [],
  CANCELLED: [],
};
export const mayMove = (from: ClaimStatus, to: ClaimStatus): boolean => MOVES[from].includes(to);

/**
 * Whether a claim in `status` holds its ASHA's month (CONTRACT §5): every claim does until it is
 * REJECTED or CANCELLED; a FAILED one only while the portal may have recorded it (`maybeRecorded`).
 */
export const holdsMonth = (status: ClaimStatus, maybeRecorded: boolean): boolean =>
  status === "REJECTED" || status === "CANCELLED" ? false : status === "FAILED" ? maybeRecorded : true;

/** CONTRACT §5: the body of every claim answer. */
export interface ClaimView {
  claimId: string;
  ashaId: string;
  period: string;
  status: ClaimStatus;
  receipt: string | null;
  errors: { code: string; message: string }[];
  attempts: number;
  deliveries: { at: string; attempt: number; outcome: DeliveryOutcome; httpStatus: number | null; durationMs: number; errorCode: string | null }[];
  totalAmount: number;
  catalogueVersion: string | null;
  createdAt: string;
  updatedAt: string;
}

export function toView(row: ClaimRow, deliveries: DeliveryRow[]): ClaimView {
  return {
    claimId: row.id,
    ashaId: row.ashaId,
    period: row.period,
    status: row.status,
    receipt: row.receipt,
    errors: row.errors,
    attempts: row.attempts,
    deliveries: deliveries
      .filter((d) => d.operation === "submit")
      .map((d) => ({ at: d.at, attempt: d.attempt, outcome: d.outcome, httpStatus: d.httpStatus, durationMs: d.durationMs, errorCode: d.errorCode })),
    totalAmount: paiseToRupees(row.totalPaise),
    catalogueVersion: row.catalogueVersion,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export const chunk = <T>(xs: T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

/** Claims by id, in chunks that stay under D1's 100 bound parameters. */
export async function claimsByIds(db: Db, ids: string[]): Promise<Map<string, ClaimRow>> {
  const out = new Map<string, ClaimRow>();
  for (const part of chunk([...new Set(ids)], 90)) {
    if (!part.length) continue;
    for (const r of await db.select().from(claims).where(inArray(claims.id, part)).all()) out.set(r.id, r);
  }
  return out;
}

export async function deliveriesFor(db: Db, ids: string[]): Promise<Map<string, DeliveryRow[]>> {
  const out = new Map<string, DeliveryRow[]>();
  for (const part of chunk([...new Set(ids)], 90)) {
    if (!part.length) continue;
    const rows = await submitDeliveries(db, part).all();
    for (const r of rows) {
      const list = out.get(r.claimId) ?? [];
      list.push(r);
      out.set(r.claimId, list);
    }
  }
  return out;
}

/** The submit deliveries of some claims, oldest first: one query for views and for the one-batch claim read. */
function submitDeliveries(db: Db, ids: string[]) {
  return db
    .select()
    .from(claimDeliveries)
    .where(and(inArray(claimDeliveries.claimId, ids), eq(claimDeliveries.operation, "submit")))
    .orderBy(asc(claimDeliveries.id));
}

export async function viewsOf(db: Db, rows: ClaimRow[]): Promise<ClaimView[]> {
  const d = await deliveriesFor(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toView(r, d.get(r.id) ?? []));
}

export async function viewOf(db: Db, row: ClaimRow): Promise<ClaimView> {
  return (await viewsOf(db, [row]))[0];
}

/** A claim (by its stored, lower-case id) and its submit deliveries, read in one D1 round trip. */
export async function claimWithDeliveries(db: Db, id: string): Promise<{ row: ClaimRow | undefined; deliveries: DeliveryRow[] }> {
  const [rows, deliveries] = await db.batch([db.select().from(claims).where(eq(claims.id, id)).limit(1), submitDeliveries(db, [id])]);
  return { row: rows[0], deliveries };
}

/** The payload posted to CLAIMS_WEBHOOK_URL for a status change. */
export function webhookPayload(id: string, row: ClaimRow, from: ClaimStatus, patch: Partial<ClaimRow>, at: string) {
  const next = { ...row, ...patch };
  return JSON.stringify({
    id,
    type: "claim.status_changed",
    occurredAt: at,
    data: {
      claimId: next.id,
      ashaId: next.ashaId,
      period: next.period,
      previousStatus: from,
      status: next.status,
      receipt: next.receipt,
      errors: next.errors,
      attempts: next.attempts,
      totalAmount: paiseToRupees(next.totalPaise),
      catalogueVersion: next.catalogueVersion,
    },
  });
}

export const webhooksEnabled = (env: Env): boolean => !!readVar(env, "CLAIMS_WEBHOOK_URL");

export interface TransitionSpec {
  row: ClaimRow;
  /** The claim changes only while it still has this status (and, when set, this lease owner). */
  fromStatus: ClaimStatus;
  leaseOwner?: string;
  patch: Partial<Omit<ClaimRow, "id" | "ownerId" | "createdAt">>;
  delivery?: {
    operation: "submit" | "poll";
    attempt: number;
    outcome: DeliveryOutcome;
    httpStatus: number | null;
    durationMs: number;
    errorCode: string | null;
  };
  /** More conditions the claim must still meet (what the caller's decision rests on, beyond its status). */
  where?: SQL;
  /**
   * The change's audit row, in the same batch, written before the update under the update's own
   * guard: it exists exactly when the change applied. (A condition checked after the update cannot
   * tell this change from a concurrent one that made the same state.)
   */
  audit?: AuditEntry;
}

export interface TransitionResult {
  applied: boolean;
  row: ClaimRow;
  webhookId: string | null;
}

/**
 * The statements of one guarded claim change: the webhook outbox row (when the status changes and
 * webhooks are configured) and the delivery record, each inserted only under the change's own guard
 * (so a change that loses a race records and posts nothing), then the update itself. Moves the
 * status never makes are refused here (CONTRACT §5).
 */
export function transitionStatements(env: Env, db: Db, spec: TransitionSpec, now: string) {
  const patch = { ...spec.patch, updatedAt: now };
  if (patch.status !== undefined && patch.status !== spec.fromStatus && !mayMove(spec.fromStatus, patch.status)) {
    throw new Error(`claim status may not move from ${spec.fromStatus} to ${patch.status}`);
  }
  // A REJECTED or CANCELLED claim never holds its month, whoever moves it there.
  if (patch.status === "REJECTED" || patch.status === "CANCELLED") patch.holdsMonth = false;
  const guard: SQL[] = [eq(claims.id, spec.row.id), eq(claims.status, spec.fromStatus)];
  if (spec.leaseOwner !== undefined) guard.push(eq(claims.leaseOwner, spec.leaseOwner));
  if (spec.where) guard.push(spec.where);
  const statusChanges = patch.status !== undefined && patch.status !== spec.fromStatus;
  const webhookId = statusChanges && webhooksEnabled(env) ? crypto.randomUUID() : null;
  const before: Statement[] = [];
  if (webhookId) before.push(webhookInsert(db, webhookId, spec.row, spec.fromStatus, patch, now, guard));
  if (spec.delivery) before.push(deliveryInsertWhere(db, spec.row.id, now, spec.delivery, guard));
  if (spec.audit) before.push(auditInsertWhere(db, spec.audit, sql`EXISTS (SELECT 1 FROM ${claims} WHERE ${and(...guard)})`));
  const update = db
    .update(claims)
    .set(patch)
    .where(and(...guard))
    .returning();
  return { before, update, webhookId };
}

/**
 * Applies one guarded claim change in one D1 batch with its delivery record and webhook outbox row,
 * then hands the webhook to its queue.
 */
export async function transition(env: Env, db: Db, spec: TransitionSpec): Promise<TransitionResult> {
  const now = new Date().toISOString();
  const { before, update, webhookId } = transitionStatements(env, db, spec, now);
  const results = (await db.batch([...before, update] as unknown as [typeof update])) as unknown[];
  const updated = results[before.length] as ClaimRow[];
  const applied = updated.length === 1;
  if (applied && webhookId) await sendWebhooks(env, [webhookId]);
  return { applied, row: applied ? updated[0] : spec.row, webhookId: applied ? webhookId : null };
}

/** A delivery record inserted only while `guard` holds on the claim (place it before the change). */
export function deliveryInsertWhere(db: Db, claimId: string, at: string, d: NonNullable<TransitionSpec["delivery"]>, guard: SQL[]) {
  const v = <T>(value: T, name: string) => sql<T>`${value}`.as(name);
  return db.insert(claimDeliveries).select(
    db
      .select({
        id: sql`NULL`.as("id"),
        claimId: v(claimId, "claim_id"),
        operation: v(d.operation, "operation"),
        attempt: v(d.attempt, "attempt"),
        at: v(at, "at"),
        outcome: v(d.outcome, "outcome"),
        httpStatus: v(d.httpStatus, "http_status"),
        durationMs: v(d.durationMs, "duration_ms"),
        errorCode: v(d.errorCode, "error_code"),
      })
      .from(claims)
      .where(and(...guard)),
  );
}

/**
 * The outbox row of a status change, as INSERT … SELECT from the claim row under the change's own
 * guard: it inserts nothing when the change loses a race. Put it before the change in the batch.
 */
export function webhookInsert(db: Db, id: string, row: ClaimRow, from: ClaimStatus, patch: Partial<ClaimRow>, at: string, guard: SQL[]) {
  const v = <T>(value: T, name: string) => sql<T>`${value}`.as(name);
  return db
    .insert(claimWebhooks)
    .select(
      db
        .select({
          id: v(id, "id"),
          claimId: v(row.id, "claim_id"),
          ownerId: v(row.ownerId, "owner_id"),
          claimStatus: v(patch.status!, "claim_status"),
          payload: v(webhookPayload(id, row, from, patch, at), "payload"),
          state: v("PENDING", "state"),
          attempts: v(0, "attempts"),
          nextAttemptAt: v(Date.now() + ENQUEUE_GRACE_MS, "next_attempt_at"),
          lastHttpStatus: v(null, "last_http_status"),
          lastError: v(null, "last_error"),
          createdAt: v(at, "created_at"),
          deliveredAt: v(null, "delivered_at"),
        })
        .from(claims)
        .where(and(...guard)),
    )
    .returning({ id: claimWebhooks.id });
}

export { sendWebhooks };

/** The columns a bulk change writes (the rest of a claim never changes after its insert). */
const MUTABLE = [
  ["status", "status"],
  ["receipt", "receipt"],
  ["errors", "errors"],
  ["failureCode", "failure_code"],
  ["attempts", "attempts"],
  ["cycleAttempts", "cycle_attempts"],
  ["dispatchId", "dispatch_id"],
  ["leaseOwner", "lease_owner"],
  ["leaseUntil", "lease_until"],
  ["nextAttemptAt", "next_attempt_at"],
  ["polls", "polls"],
  ["lastPolledAt", "last_polled_at"],
  ["nextPollAt", "next_poll_at"],
  ["lastPollOutcome", "last_poll_outcome"],
  ["holdsMonth", "holds_month"],
  ["maybeRecorded", "maybe_recorded"],
  ["updatedAt", "updated_at"],
] as const;

export interface BulkChange {
  row: ClaimRow;
  /** Applied only while the claim still has this status (and, when set, this lease owner). */
  fromStatus: ClaimStatus;
  leaseOwner?: string | null;
  patch: TransitionSpec["patch"];
  /** Delivery records written with the change (and only if it applies). */
  deliveries?: NonNullable<TransitionSpec["delivery"]>[];
}

/**
 * Many guarded claim changes as four statements for the caller's D1 batch, whatever their number
 * (each reads its rows from one bound JSON parameter): the webhook outbox rows of the status changes
 * (when webhooks are configured) and the delivery records, each inserted only where its change's guard
 * holds, then one UPDATE … FROM json_each that applies every change under its guard, RETURNING the
 * ids it changed. Status moves the contract forbids are refused here. Answers the statements and the
 * webhook id planned for each change (null: none).
 */
export function bulkChangeStatements(env: Env, db: Db, changes: BulkChange[], at: string) {
  const hooks = webhooksEnabled(env);
  const planned = changes.map((c) => {
    const next: ClaimRow = { ...c.row, ...c.patch, updatedAt: at } as ClaimRow;
    if (next.status !== c.fromStatus && !mayMove(c.fromStatus, next.status))
      throw new Error(`claim status may not move from ${c.fromStatus} to ${next.status}`);
    if (next.status === "REJECTED" || next.status === "CANCELLED") next.holdsMonth = false;
    const webhookId = hooks && next.status !== c.fromStatus ? crypto.randomUUID() : null;
    return { c, next, webhookId };
  });
  const guardOf = (alias: string, idPath: string) =>
    sql.raw(
      `EXISTS (SELECT 1 FROM claims AS g WHERE g.id = json_extract(${alias}.value, '${idPath}') AND g.status = json_extract(${alias}.value, '$.from')
        AND (json_extract(${alias}.value, '$.lease') IS NULL OR g.lease_owner = json_extract(${alias}.value, '$.lease')))`,
    );
  const statements: Statement[] = [];

  const webhooks = planned.filter((p) => p.webhookId);
  let webhookIndex: number | null = null;
  if (webhooks.length) {
    const rows = JSON.stringify(
      webhooks.map((p) => ({
        id: p.webhookId,
        claimId: p.c.row.id,
        ownerId: p.c.row.ownerId,
        status: p.next.status,
        payload: webhookPayload(p.webhookId!, p.c.row, p.c.fromStatus, p.next, at),
        from: p.c.fromStatus,
        lease: p.c.leaseOwner ?? null,
        due: Date.now() + ENQUEUE_GRACE_MS,
        at,
      })),
    );
    webhookIndex = statements.length;
    statements.push(
      db
        .insert(claimWebhooks)
        .select(
          sql`SELECT json_extract(w.value, '$.id'), json_extract(w.value, '$.claimId'), json_extract(w.value, '$.ownerId'), json_extract(w.value, '$.status'),
            json_extract(w.value, '$.payload'), 'PENDING', 0, json_extract(w.value, '$.due'), NULL, NULL, json_extract(w.value, '$.at'), NULL
            FROM json_each(${rows}) AS w WHERE ${guardOf("w", "$.claimId")}`,
        )
        .returning({ id: claimWebhooks.id }),
    );
  }

  const records = planned.flatMap((p) =>
    (p.c.deliveries ?? []).map((d) => ({ ...d, claimId: p.c.row.id, from: p.c.fromStatus, lease: p.c.leaseOwner ?? null, at })),
  );
  if (records.length) {
    statements.push(
      db.insert(claimDeliveries).select(
        sql`SELECT NULL, json_extract(d.value, '$.claimId'), json_extract(d.value, '$.operation'), json_extract(d.value, '$.attempt'), json_extract(d.value, '$.at'),
          json_extract(d.value, '$.outcome'), json_extract(d.value, '$.httpStatus'), json_extract(d.value, '$.durationMs'), json_extract(d.value, '$.errorCode')
          FROM json_each(${JSON.stringify(records)}) AS d WHERE ${guardOf("d", "$.claimId")}`,
      ),
    );
  }

  const rows = JSON.stringify(
    planned.map((p) => ({
      ...Object.fromEntries(MUTABLE.map(([k]) => [k, typeof p.next[k] === "boolean" ? (p.next[k] ? 1 : 0) : p.next[k]])),
      id: p.c.row.id,
      from: p.c.fromStatus,
      lease: p.c.leaseOwner ?? null,
    })),
  );
  const set = Object.fromEntries(MUTABLE.map(([k]) => [k, sql.raw(`json_extract(o.value, '$.${k}')`)])) as Record<string, SQL>;
  const updateIndex = statements.length;
  statements.push(
    db
      .update(claims)
      .set(set)
      .from(sql`json_each(${rows}) AS o`)
      .where(
        sql`${claims.id} = json_extract(o.value, '$.id') AND ${claims.status} = json_extract(o.value, '$.from')
          AND (json_extract(o.value, '$.lease') IS NULL OR ${claims.leaseOwner} = json_extract(o.value, '$.lease'))`,
      )
      .returning({ id: claims.id }),
  );
  return {
    statements,
    /** After the batch: the ids that changed, and the webhook ids to hand to the queue. */
    read(results: unknown[]) {
      const changed = new Set((results[updateIndex] as { id: string }[]).map((r) => r.id));
      const webhookIds = webhookIndex === null ? [] : (results[webhookIndex] as { id: string }[]).map((r) => r.id);
      return { changed, webhookIds, next: new Map(planned.map((p) => [p.c.row.id, p.next])) };
    },
  };
}
