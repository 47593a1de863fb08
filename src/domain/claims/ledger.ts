import { and, asc, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Env } from "../../env";
import { readVar } from "../../env";
import type { Db } from "../../storage/db";
import { claims, type ClaimStatus } from "../../storage/schema/claims";
import { claimDeliveries, type DeliveryOutcome } from "../../storage/schema/claim-deliveries";
import { claimWebhooks } from "../../storage/schema/claim-webhooks";
import { paiseToRupees } from "../../lib/money";
import { createLogger } from "../../lib/logger";

export type ClaimRow = typeof claims.$inferSelect;
export type DeliveryRow = typeof claimDeliveries.$inferSelect;

/** How long a freshly written QUEUED claim may wait for its queue message before the sweep re-sends it. */
export const ENQUEUE_GRACE_MS = 5 * 60_000;

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
    const rows = await db
      .select()
      .from(claimDeliveries)
      .where(and(inArray(claimDeliveries.claimId, part), eq(claimDeliveries.operation, "submit")))
      .orderBy(asc(claimDeliveries.id))
      .all();
    for (const r of rows) {
      const list = out.get(r.claimId) ?? [];
      list.push(r);
      out.set(r.claimId, list);
    }
  }
  return out;
}

export async function viewsOf(db: Db, rows: ClaimRow[]): Promise<ClaimView[]> {
  const d = await deliveriesFor(db, rows.map((r) => r.id));
  return rows.map((r) => toView(r, d.get(r.id) ?? []));
}

export async function viewOf(db: Db, row: ClaimRow): Promise<ClaimView> {
  return (await viewsOf(db, [row]))[0];
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
  delivery?: { operation: "submit" | "poll"; attempt: number; outcome: DeliveryOutcome; httpStatus: number | null; durationMs: number; errorCode: string | null };
  /** More statements for the same batch (e.g. an audit row); they run after the claim update. */
  extra?: Parameters<Db["batch"]>[0][number][];
}

export interface TransitionResult {
  applied: boolean;
  row: ClaimRow;
  webhookId: string | null;
}

/**
 * Applies a claim change guarded by its current status (and lease), in one D1 batch with its
 * delivery record and, when the status changes and webhooks are configured, the webhook outbox row.
 * The outbox insert is conditional on the same guard, so a change that loses a race posts nothing.
 */
export async function transition(env: Env, db: Db, spec: TransitionSpec): Promise<TransitionResult> {
  const now = new Date().toISOString();
  const patch = { ...spec.patch, updatedAt: now };
  const guard: SQL[] = [eq(claims.id, spec.row.id), eq(claims.status, spec.fromStatus)];
  if (spec.leaseOwner !== undefined) guard.push(eq(claims.leaseOwner, spec.leaseOwner));
  const statusChanges = patch.status !== undefined && patch.status !== spec.fromStatus;
  const webhookId = statusChanges && webhooksEnabled(env) ? crypto.randomUUID() : null;

  const statements: Parameters<Db["batch"]>[0][number][] = [];
  if (webhookId) statements.push(webhookInsert(db, webhookId, spec.row, spec.fromStatus, patch, now, guard));
  const update = db.update(claims).set(patch).where(and(...guard)).returning();
  statements.push(update);
  if (spec.delivery) {
    statements.push(db.insert(claimDeliveries).values({ claimId: spec.row.id, at: now, ...spec.delivery }));
  }
  if (spec.extra) statements.push(...spec.extra);
  const results = (await db.batch(statements as [typeof update])) as unknown[];
  const updated = results[webhookId ? 1 : 0] as ClaimRow[];
  const applied = updated.length === 1;
  if (applied && webhookId) await sendWebhook(env, webhookId);
  return { applied, row: applied ? updated[0] : spec.row, webhookId: applied ? webhookId : null };
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

/** Hands a webhook outbox row to the WEBHOOKS queue; a failed send is re-tried by the sweep. */
export async function sendWebhook(env: Env, id: string, delaySeconds = 0) {
  try {
    await env.WEBHOOKS.send({ type: "claim-webhook", id }, delaySeconds ? { delaySeconds } : undefined);
  } catch {
    createLogger({ webhookId: id }).warn("webhook enqueue failed; the sweep will re-send");
  }
}

/** Hands many webhook outbox rows to the WEBHOOKS queue, 100 per sendBatch. */
export async function sendWebhooks(env: Env, ids: string[]) {
  for (const part of chunk(ids, 100)) {
    try {
      await env.WEBHOOKS.sendBatch(part.map((id) => ({ body: { type: "claim-webhook", id } })));
    } catch {
      createLogger({ queue: "webhooks" }).warn("webhook enqueue failed; the sweep will re-send", { count: part.length });
    }
  }
}
