import { and, eq, inArray, notInArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Env } from "../../env";
import { readVar } from "../../env";
import type { Db } from "../../storage/db";
import { claims, type ClaimItem } from "../../storage/schema/claims";
import { claimSubmissions } from "../../storage/schema/claim-submissions";
import { GatewayError, type ErrorDetail } from "../../errors";
import { createLogger } from "../../lib/logger";
import { sha256Hex } from "../security/crypto";
import { encodeSubmission } from "../../adapters/assam/codec";
import { loadCatalogue, versionInForce, versionNamed, type CatalogueVersion } from "./catalogue";
import { periodEnded } from "./periods";
import { chunk, claimsByIds, ENQUEUE_GRACE_MS, viewsOf, type ClaimRow, type ClaimView } from "./ledger";
import { deliverMessage, type ClaimsQueueMessage } from "./messages";

/** ₹1,00,00,000 (one crore) in paise: the most one claim may total. */
export const MAX_CLAIM_TOTAL_PAISE = 1_00_00_000 * 100;

/** A claim as the caller sent it, after schema validation (amounts already in paise). */
export interface ClaimInput {
  claimId: string;
  ashaId: string;
  period: string;
  verifiedBy: { employeeId: string; name: string };
  activities: { code: string; count: number; amountPaise?: number }[];
  schedule: "now" | "cutoff";
}

export type SubmitOutcome =
  | { claimId: string; httpStatus: 200 | 202; claim: ClaimView }
  | { claimId: string; error: GatewayError };

export const LIVE_EXCLUDED = ["REJECTED", "FAILED", "CANCELLED"] as const;

interface Normalised {
  items: ClaimItem[];
  totalPaise: number;
  catalogueVersion: string | null;
  contentHash: string;
}

/**
 * CONTRACT §5 content rules: zero counts dropped (none left → EMPTY_CLAIM), codes checked against
 * the catalogue version (UNKNOWN_ACTIVITY), absent amounts filled from its rates (AMOUNT_REQUIRED
 * when there is no catalogue). The hash ignores activity order and `schedule`.
 */
async function normalise(input: ClaimInput, version: CatalogueVersion | null): Promise<Normalised> {
  const kept = input.activities.filter((a) => a.count > 0);
  if (!kept.length) throw new GatewayError("EMPTY_CLAIM", "the claim has no activity with a count above zero");
  const rates = new Map((version?.activities ?? []).map((a) => [a.code, a.amountPaise]));
  if (version) {
    const unknown = kept.filter((a) => !rates.has(a.code));
    if (unknown.length) {
      throw new GatewayError("UNKNOWN_ACTIVITY", `activity code not in catalogue version ${version.version}`, {
        details: unknown.map((a) => ({ path: "activities", code: a.code, message: `not in catalogue version ${version.version}` })),
      });
    }
  } else {
    const missing = kept.filter((a) => a.amountPaise === undefined);
    if (missing.length) {
      throw new GatewayError("AMOUNT_REQUIRED", "no catalogue applies to this period: every activity needs an amount", {
        details: missing.map((a) => ({ path: "activities", code: a.code, message: "amount required" })),
      });
    }
  }
  const items = kept
    .map((a) => ({ code: a.code, count: a.count, amountPaise: a.amountPaise ?? rates.get(a.code)! * a.count }))
    .sort((x, y) => (x.code < y.code ? -1 : x.code > y.code ? 1 : 0));
  const totalPaise = items.reduce((s, i) => s + i.amountPaise, 0);
  // A sanity bound far above any ASHA's monthly incentive. It keeps paise exact everywhere they are
  // added up: one claim, and a month's report or reconciliation (over 9 million claims before a sum
  // could pass Number.MAX_SAFE_INTEGER; Assam has about 33,000 ASHAs).
  if (totalPaise > MAX_CLAIM_TOTAL_PAISE) {
    throw new GatewayError("VALIDATION_FAILED", "the claim's total amount is out of range", {
      details: [{ path: "activities", message: `total amount above ${MAX_CLAIM_TOTAL_PAISE / 100} rupees` }],
    });
  }
  const contentHash = await sha256Hex(
    JSON.stringify({
      ashaId: input.ashaId,
      period: input.period,
      verifiedBy: [input.verifiedBy.employeeId, input.verifiedBy.name],
      items: items.map((i) => [i.code, i.count, i.amountPaise]),
    }),
  );
  return { items, totalPaise, catalogueVersion: version?.version ?? null, contentHash };
}

const reuseOfForeignId = () => new GatewayError("IDEMPOTENCY_CONFLICT", "this claimId is already in use");

/** The same claimId again: 200 with the recorded claim when the content is the same, else 409. */
async function replayOutcome(input: ClaimInput, existing: ClaimRow, ownerId: string, catalogue: CatalogueVersion[]): Promise<GatewayError | null> {
  if (existing.ownerId !== ownerId) return reuseOfForeignId();
  try {
    const n = await normalise(input, versionNamed(catalogue, existing.catalogueVersion));
    if (n.contentHash === existing.contentHash) return null;
  } catch {
    /* content that cannot even be normalised the same way is different content */
  }
  return new GatewayError("IDEMPOTENCY_CONFLICT", "this claimId was used with different content", { details: [{ path: "claimId", message: "different content" }] });
}

const duplicatePeriod = (live: ClaimRow, ownerId: string) =>
  new GatewayError("DUPLICATE_PERIOD_CLAIM", `ASHA ${live.ashaId} already has a claim for ${live.period}`, {
    details: [
      live.ownerId === ownerId
        ? { path: "period", claimId: live.id, status: live.status, message: "existing claim for this ASHA and month" }
        : { path: "period", message: "another client holds a claim for this ASHA and month" },
    ],
  });

const liveKey = (ashaId: string, period: string) => `${ashaId}\u0000${period}`;

export interface SubmitContext {
  env: Env;
  db: Db;
  ownerId: string;
  requestId: string;
  /** Tests: write the ledger without enqueueing (a crash between the two). */
  skipEnqueue?: boolean;
  now?: number;
}

/**
 * Creates claims with exactly the single-claim semantics, for one claim or a batch of up to 500:
 * reads are bulk (a handful of queries for 500 claims) so a batch stays inside D1's per-invocation
 * query limits. Each new claim's row and wire body are written in one D1 batch, then enqueued; a
 * failed enqueue is recovered by the sweep (the row carries its lease deadline).
 */
export async function submitClaims(ctx: SubmitContext, inputs: (ClaimInput | GatewayError)[]): Promise<SubmitOutcome[]> {
  const { db, env, ownerId } = ctx;
  const now = ctx.now ?? Date.now();
  const valid = inputs.filter((i): i is ClaimInput => !(i instanceof GatewayError));
  const existing = await claimsByIds(db, valid.map((i) => i.claimId));
  const catalogue = await loadCatalogue(db);
  const live = new Map<string, ClaimRow>();
  for (const part of chunk([...new Set(valid.map((i) => i.ashaId))], 90)) {
    if (!part.length) continue;
    const rows = await db
      .select()
      .from(claims)
      .where(and(inArray(claims.ashaId, part), notInArray(claims.status, [...LIVE_EXCLUDED])))
      .all();
    for (const r of rows) live.set(liveKey(r.ashaId, r.period), r);
  }

  const partnerCode = readVar(env, "PARTNER_CODE") ?? "AMRIT";
  const outcomes: (SubmitOutcome | { claimId: string; pending: ClaimRow; wire: string; input: ClaimInput })[] = [];

  for (const input of inputs) {
    if (input instanceof GatewayError) {
      outcomes.push({ claimId: "", error: input });
      continue;
    }
    const prior = existing.get(input.claimId);
    if (prior) {
      const err = await replayOutcome(input, prior, ownerId, catalogue);
      if (err) outcomes.push({ claimId: input.claimId, error: err });
      else outcomes.push({ claimId: input.claimId, httpStatus: 200, claim: undefined as unknown as ClaimView });
      continue;
    }
    try {
      const n = await normalise(input, versionInForce(catalogue, input.period));
      if (input.schedule === "now" && !periodEnded(input.period, now)) {
        throw new GatewayError("PERIOD_OPEN", `period ${input.period} has not ended in IST; use schedule "cutoff" to hold it until the cut-off`, {
          details: [{ path: "period", message: "not ended yet (IST)" }],
        });
      }
      const holder = live.get(liveKey(input.ashaId, input.period));
      if (holder) throw duplicatePeriod(holder, ownerId);
      const at = new Date(now).toISOString();
      const status = input.schedule === "now" ? "QUEUED" : "SCHEDULED";
      const row: ClaimRow = {
        id: input.claimId,
        ownerId,
        ashaId: input.ashaId,
        period: input.period,
        status,
        schedule: input.schedule,
        verifierEmployeeId: input.verifiedBy.employeeId,
        verifierName: input.verifiedBy.name,
        items: n.items,
        contentHash: n.contentHash,
        totalPaise: n.totalPaise,
        catalogueVersion: n.catalogueVersion,
        receipt: null,
        errors: [],
        failureCode: null,
        attempts: 0,
        cycleAttempts: 0,
        dispatchId: status === "QUEUED" ? crypto.randomUUID() : null,
        leaseOwner: null,
        leaseUntil: status === "QUEUED" ? now + ENQUEUE_GRACE_MS : null,
        nextAttemptAt: null,
        polls: 0,
        lastPolledAt: null,
        requestId: ctx.requestId,
        createdAt: at,
        updatedAt: at,
      };
      const wire = encodeSubmission({ claimId: row.id, ashaId: row.ashaId, period: row.period, verifierEmployeeId: row.verifierEmployeeId, verifierName: row.verifierName, items: row.items }, partnerCode, now);
      existing.set(row.id, row);
      live.set(liveKey(row.ashaId, row.period), row);
      outcomes.push({ claimId: row.id, pending: row, wire, input });
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      outcomes.push({ claimId: input.claimId, error: err });
    }
  }

  // Write the new claims: rows + wire bodies together, 48 claims per D1 batch, as multi-row inserts
  // (3 claim rows or 24 bodies per statement, under 100 bound parameters): 500 claims take ~190
  // statements, well inside a Worker invocation's D1 query budget.
  const fresh = outcomes.map((o, index) => ({ o, index })).filter((x): x is { o: { claimId: string; pending: ClaimRow; wire: string; input: ClaimInput }; index: number } => "pending" in x.o);
  const written: ClaimRow[] = [];
  for (const part of chunk(fresh, 48)) {
    const stmts = await insertStatements(db, part.map(({ o }) => ({ row: o.pending, wire: o.wire })));
    try {
      await db.batch(stmts as unknown as [BatchItem<"sqlite">]);
      for (const { o, index } of part) {
        outcomes[index] = { claimId: o.claimId, httpStatus: 202, claim: undefined as unknown as ClaimView };
        written.push(o.pending);
      }
    } catch {
      // A concurrent request won a race (same claimId, or same ASHA and month): settle one by one.
      for (const { o, index } of part) {
        try {
          await db.batch((await insertStatements(db, [{ row: o.pending, wire: o.wire }])) as unknown as [BatchItem<"sqlite">]);
          outcomes[index] = { claimId: o.claimId, httpStatus: 202, claim: undefined as unknown as ClaimView };
          written.push(o.pending);
        } catch (err) {
          outcomes[index] = await settleRace(ctx, o.input, o.pending, catalogue, err);
        }
      }
    }
  }

  if (!ctx.skipEnqueue) await enqueue(env, written.filter((r) => r.status === "QUEUED").map((r) => deliverMessage(r.id, r.dispatchId!)));

  // Answer bodies: new claims as written, replays as recorded now (with their delivery history).
  const writtenById = new Map(written.map((r) => [r.id, r]));
  const answered = outcomes.filter((o): o is SubmitOutcome & { claim: ClaimView } => "claim" in o);
  const reread = await claimsByIds(db, answered.map((o) => o.claimId).filter((id) => !writtenById.has(id)));
  const rows = answered.map((o) => writtenById.get(o.claimId) ?? reread.get(o.claimId)).filter((r): r is ClaimRow => !!r);
  const byId = new Map((await viewsOf(db, rows)).map((v) => [v.claimId, v]));
  return outcomes.map((o) => {
    if ("pending" in o) throw new Error("unsettled claim");
    if ("claim" in o) return { ...o, claim: byId.get(o.claimId)! };
    return o;
  });
}

async function insertStatements(db: Db, claimsToWrite: { row: ClaimRow; wire: string }[]) {
  const bodies = await Promise.all(
    claimsToWrite.map(async ({ row, wire }) => ({ claimId: row.id, wireBody: wire, bodySha256: await sha256Hex(wire), generatedAt: row.createdAt })),
  );
  return [
    ...chunk(claimsToWrite.map((c) => c.row), 3).map((rows) => db.insert(claims).values(rows)),
    ...chunk(bodies, 24).map((rows) => db.insert(claimSubmissions).values(rows)),
  ];
}

async function settleRace(ctx: SubmitContext, input: ClaimInput, row: ClaimRow, catalogue: CatalogueVersion[], cause: unknown): Promise<SubmitOutcome> {
  const winner = (await claimsByIds(ctx.db, [row.id])).get(row.id);
  if (winner) {
    const err = await replayOutcome(input, winner, ctx.ownerId, catalogue);
    return err ? { claimId: row.id, error: err } : { claimId: row.id, httpStatus: 200, claim: undefined as unknown as ClaimView };
  }
  const holder = await ctx.db
    .select()
    .from(claims)
    .where(and(eq(claims.ashaId, row.ashaId), eq(claims.period, row.period), notInArray(claims.status, [...LIVE_EXCLUDED])))
    .get();
  if (holder) {
    const err = duplicatePeriod(holder, ctx.ownerId);
    return { claimId: row.id, error: err };
  }
  throw cause;
}

/** Sends claim-queue messages, 100 per sendBatch; a failure is logged and left to the sweep. */
export async function enqueue(env: Env, messages: { body: ClaimsQueueMessage; delaySeconds?: number }[]) {
  for (const part of chunk(messages, 100)) {
    try {
      await env.CLAIMS_DELIVERY.sendBatch(part.map((m) => ({ body: m.body, delaySeconds: m.delaySeconds })));
    } catch {
      createLogger({ queue: "claims-delivery" }).warn("enqueue failed; the sweep will re-queue", { count: part.length });
    }
  }
}

export type { ErrorDetail };
