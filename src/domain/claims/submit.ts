import { getTableColumns, sql } from "drizzle-orm";
import type { Env } from "../../env";
import { readVar } from "../../env";
import type { Db } from "../../storage/db";
import { claims, type ClaimItem } from "../../storage/schema/claims";
import { claimSubmissions } from "../../storage/schema/claim-submissions";
import { GatewayError, type ErrorDetail } from "../../errors";
import { sha256Hex } from "../security/crypto";
import { encodeSubmission } from "../../adapters/assam/codec";
import type { UpstreamCallRecorder } from "../../adapters/recorder";
import { transactionLog } from "../../storage/upstream-calls";
import { cachedCatalogue, loadCatalogue, versionInForce, versionNamed, type CatalogueVersion } from "./catalogue";
import { periodEnded } from "./periods";
import { deliveriesFor, ENQUEUE_GRACE_MS, toView, type ClaimRow, type ClaimView } from "./ledger";
import { deliverMessage } from "./messages";
import { enqueueClaims } from "./outbox";
import { settleByStatus } from "./settle";

/** ₹1,00,00,000 (one crore) in paise: the most one claim may total. */
export const MAX_CLAIM_TOTAL_PAISE = 1_00_00_000 * 100;

/** Conflicts with a month held by an ambiguously FAILED claim that one request settles by asking the portal. */
export const MAX_SETTLE_PER_REQUEST = 10;

/** A QUEUED claim never picked up this long after its write gets its queue message again when it is submitted again. */
const RESEND_AFTER_MS = 10_000;

/** A claim as the caller sent it, after schema validation (amounts already in paise). */
export interface ClaimInput {
  claimId: string;
  ashaId: string;
  period: string;
  verifiedBy: { employeeId: string; name: string };
  activities: { code: string; count: number; amountPaise?: number }[];
  schedule: "now" | "cutoff";
}

export type SubmitOutcome = { claimId: string; httpStatus: 200 | 202; claim: ClaimView } | { claimId: string; error: GatewayError };

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

/** The same claimId again: null (200 with the recorded claim) when the content is the same, else the 409. */
async function replayOutcome(
  db: Db,
  input: ClaimInput,
  existing: ClaimRow,
  ownerId: string,
  catalogue: CatalogueVersion[],
): Promise<GatewayError | null> {
  if (existing.ownerId !== ownerId) return reuseOfForeignId();
  let version = versionNamed(catalogue, existing.catalogueVersion);
  // A version stored moments ago through another isolate is not in this isolate's copy yet.
  if (existing.catalogueVersion && !version) version = versionNamed(await loadCatalogue(db), existing.catalogueVersion);
  try {
    const n = await normalise(input, version);
    if (n.contentHash === existing.contentHash) return null;
  } catch {
    /* content that cannot even be normalised the same way is different content */
  }
  return new GatewayError("IDEMPOTENCY_CONFLICT", "this claimId was used with different content", {
    details: [{ path: "claimId", message: "different content" }],
  });
}

const duplicatePeriod = (holder: ClaimRow, ownerId: string) =>
  new GatewayError("DUPLICATE_PERIOD_CLAIM", `ASHA ${holder.ashaId} already has a claim for ${holder.period}`, {
    details: [
      holder.ownerId === ownerId
        ? { path: "period", claimId: holder.id, status: holder.status, message: "existing claim for this ASHA and month" }
        : { path: "period", message: "another client holds a claim for this ASHA and month" },
    ],
  });

const monthKey = (ashaId: string, period: string) => `${ashaId}\u0000${period}`;

/** A FAILED claim that still holds its month because the portal may have recorded it. */
const heldAmbiguously = (r: ClaimRow) => r.status === "FAILED" && r.holdsMonth;

export interface SubmitContext {
  env: Env;
  db: Db;
  ownerId: string;
  requestId: string;
  /** Where the portal calls a request makes are reported (status reads that settle a month); default: the transaction log. */
  recorder?: UpstreamCallRecorder;
  /** Tests: write the ledger without enqueueing (a crash between the two). */
  skipEnqueue?: boolean;
  now?: number;
}

interface Candidate {
  index: number;
  input: ClaimInput;
  row: ClaimRow;
  wire: string;
  bodySha256: string;
}

/**
 * Creates claims with exactly the single-claim semantics, for one claim or a batch of up to 500, in
 * one D1 batch plus one queue send: the rules are enforced by the database inside that batch, not by
 * reads before it. The claims are inserted with ON CONFLICT DO NOTHING (the primary key is the
 * idempotency rule, the partial unique index over the claims holding their month the one-per-month
 * rule) and their wire bodies only where their claim was inserted; the rows RETURNING from the insert
 * are the answers. Only a conflict takes a follow-up read, to say which rule it hit (and, when the
 * month is held by a claim that FAILED ambiguously, to ask the portal whether it has that one).
 * A claimId repeated within one request is answered in order, as if sent one after the other.
 */
export async function submitClaims(ctx: SubmitContext, inputs: (ClaimInput | GatewayError)[]): Promise<SubmitOutcome[]> {
  const { db, env, ownerId } = ctx;
  const now = ctx.now ?? Date.now();
  const outcomes: (SubmitOutcome | undefined)[] = inputs.map((i) => (i instanceof GatewayError ? { claimId: "", error: i } : undefined));
  // Rows this request wrote or read, by claimId: a repeated claimId is answered from them.
  const known = new Map<string, ClaimRow>();
  const written = new Set<string>();
  const toEnqueue: ClaimRow[] = [];
  const catalogue = await cachedCatalogue(db, now);
  const partnerCode = readVar(env, "PARTNER_CODE") ?? "AMRIT";
  let settleBudget = MAX_SETTLE_PER_REQUEST;

  // Occurrences of each claimId in request order; the first one of each goes in the first round.
  const occurrences = new Map<string, number[]>();
  inputs.forEach((input, i) => {
    if (input instanceof GatewayError) return;
    const list = occurrences.get(input.claimId) ?? [];
    list.push(i);
    occurrences.set(input.claimId, list);
  });
  let round: number[] = [...occurrences.values()].map((l) => l.shift()!);

  const answerFromKnown = async (i: number, input: ClaimInput, row: ClaimRow) => {
    const err = await replayOutcome(db, input, row, ownerId, catalogue);
    outcomes[i] = err
      ? { claimId: input.claimId, error: err }
      : { claimId: input.claimId, httpStatus: 200, claim: undefined as unknown as ClaimView };
  };

  for (let rounds = 0; round.length && rounds < 4 + inputs.length; rounds++) {
    const next: number[] = [];
    const candidates: Candidate[] = [];
    for (const i of round) {
      const input = inputs[i] as ClaimInput;
      const seen = known.get(input.claimId);
      if (seen) {
        await answerFromKnown(i, input, seen);
        continue;
      }
      try {
        candidates.push(await candidate(i, input, ctx, catalogue, partnerCode, now));
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        outcomes[i] = { claimId: input.claimId, error: err };
      }
    }

    if (candidates.length) {
      const inserted = await writeClaims(db, candidates);
      const conflicted: Candidate[] = [];
      for (const c of candidates) {
        const row = inserted.get(c.row.id);
        if (row) {
          known.set(row.id, row);
          written.add(row.id);
          if (row.status === "QUEUED") toEnqueue.push(row);
          outcomes[c.index] = { claimId: row.id, httpStatus: 202, claim: toView(row, []) };
        } else conflicted.push(c);
      }

      if (conflicted.length) {
        const { byId, holders } = await readConflicts(db, conflicted);
        const toSettle: { c: Candidate; holder: ClaimRow }[] = [];
        for (const c of conflicted) {
          const existing = byId.get(c.row.id);
          if (existing) {
            known.set(existing.id, existing);
            await answerFromKnown(c.index, c.input, existing);
            continue;
          }
          const holder = holders.get(monthKey(c.row.ashaId, c.row.period));
          if (holder && heldAmbiguously(holder) && settleBudget > 0) {
            settleBudget--;
            toSettle.push({ c, holder });
          } else if (holder) outcomes[c.index] = { claimId: c.row.id, error: duplicatePeriod(holder, ownerId) };
          // The row it met is gone (released meanwhile): try again.
          else next.push(c.index);
        }
        if (toSettle.length) {
          const settled = await settleByStatus(
            env,
            db,
            toSettle.map((s) => s.holder),
            { recorder: ctx.recorder ?? transactionLog(db), requestId: ctx.requestId },
          );
          toSettle.forEach(({ c, holder }, k) => {
            const after = settled[k] ?? holder;
            if (after.holdsMonth) outcomes[c.index] = { claimId: c.row.id, error: duplicatePeriod(after, ownerId) };
            else next.push(c.index);
          });
        }
      }
    }

    // The next occurrence of each claimId answered in this round goes in the next round.
    for (const i of round) {
      if (!outcomes[i]) continue;
      const later = occurrences.get((inputs[i] as ClaimInput).claimId);
      if (later?.length) next.push(later.shift()!);
    }
    round = next;
  }

  for (const [i, o] of outcomes.entries()) {
    if (!o)
      outcomes[i] = { claimId: (inputs[i] as ClaimInput).claimId, error: new GatewayError("CONFLICT", "the claim could not be written: try again") };
  }

  // A replay of a QUEUED claim that was never picked up gets its queue message again (a send lost at
  // its first submission; the consumer takes each claim once, so a second message is harmless).
  const resend = [...known.values()].filter(
    (r) =>
      !written.has(r.id) &&
      r.ownerId === ownerId &&
      r.status === "QUEUED" &&
      r.attempts === 0 &&
      r.leaseOwner === null &&
      r.dispatchId &&
      Date.parse(r.createdAt) < now - RESEND_AFTER_MS,
  );
  if (!ctx.skipEnqueue)
    await enqueueClaims(
      env,
      [...toEnqueue, ...resend].map((r) => deliverMessage(r.id, r.dispatchId!)),
    );

  // Answer bodies: new claims as written; replays as recorded, with their delivery history.
  const replayed = outcomes.filter((o): o is Extract<SubmitOutcome, { claim: ClaimView }> => !!o && "claim" in o && o.httpStatus === 200);
  const history = await deliveriesFor(
    db,
    [...new Set(replayed.map((o) => o.claimId))].filter((id) => !written.has(id)),
  );
  return outcomes.map((o) => {
    if (o && "claim" in o && o.httpStatus === 200) return { ...o, claim: toView(known.get(o.claimId)!, history.get(o.claimId) ?? []) };
    return o!;
  });
}

async function candidate(
  index: number,
  input: ClaimInput,
  ctx: SubmitContext,
  catalogue: CatalogueVersion[],
  partnerCode: string,
  now: number,
): Promise<Candidate> {
  const n = await normalise(input, versionInForce(catalogue, input.period));
  if (input.schedule === "now" && !periodEnded(input.period, now)) {
    throw new GatewayError("PERIOD_OPEN", `period ${input.period} has not ended in IST; use schedule "cutoff" to hold it until the cut-off`, {
      details: [{ path: "period", message: "not ended yet (IST)" }],
    });
  }
  const at = new Date(now).toISOString();
  const status = input.schedule === "now" ? "QUEUED" : "SCHEDULED";
  const row: ClaimRow = {
    id: input.claimId,
    ownerId: ctx.ownerId,
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
    nextPollAt: null,
    lastPollOutcome: null,
    holdsMonth: true,
    maybeRecorded: false,
    purgedAt: null,
    requestId: ctx.requestId,
    createdAt: at,
    updatedAt: at,
  };
  const wire = encodeSubmission(
    {
      claimId: row.id,
      ashaId: row.ashaId,
      period: row.period,
      verifierEmployeeId: row.verifierEmployeeId,
      verifierName: row.verifierName,
      items: row.items,
    },
    partnerCode,
    now,
  );
  return { index, input, row, wire, bodySha256: await sha256Hex(wire) };
}

const CLAIM_COLUMNS = Object.entries(getTableColumns(claims));

/** A row as JSON for json_each: booleans as 0/1, JSON columns as JSON (json_extract hands back their text). */
const jsonRow = (r: ClaimRow) => ({ ...r, holdsMonth: r.holdsMonth ? 1 : 0, maybeRecorded: r.maybeRecorded ? 1 : 0 });

/**
 * The intake's two statements, as drizzle writes them, built once per isolate: only their one bound
 * JSON parameter differs between requests. (Building them per request was about a sixth of the
 * isolate's CPU under the claims benchmark's load: `npm run bench:profile -- /v1/claims`.)
 */
let intakeSql: { claims: string; bodies: string } | null = null;
function intakeStatements(db: Db): { claims: string; bodies: string } {
  if (intakeSql) return intakeSql;
  const select = sql.join(
    CLAIM_COLUMNS.map(([key]) => sql.raw(`json_extract(value, '$.${key}')`)),
    sql`, `,
  );
  const insertClaims = db
    .insert(claims)
    .select(sql`SELECT ${select} FROM json_each(${sql.placeholder("rows")}) WHERE 1`)
    .onConflictDoNothing()
    .returning()
    .toSQL();
  const insertBodies = db
    .insert(claimSubmissions)
    .select(
      sql`SELECT json_extract(value, '$.claimId'), json_extract(value, '$.wireBody'), json_extract(value, '$.bodySha256'), json_extract(value, '$.generatedAt')
        FROM json_each(${sql.placeholder("bodies")}) WHERE EXISTS (SELECT 1 FROM ${claims} WHERE ${claims.id} = json_extract(value, '$.claimId'))`,
    )
    .onConflictDoNothing()
    .toSQL();
  if (insertClaims.params.length !== 1 || insertBodies.params.length !== 1) throw new Error("intake statements must take one parameter each");
  intakeSql = { claims: insertClaims.sql, bodies: insertBodies.sql };
  return intakeSql;
}

/** A claims row as D1 returns it (column names) → the row as drizzle types it (each column's own decoding). */
const claimFromDriver = (raw: Record<string, unknown>): ClaimRow =>
  Object.fromEntries(CLAIM_COLUMNS.map(([key, col]) => [key, raw[col.name] == null ? null : col.mapFromDriverValue(raw[col.name])])) as ClaimRow;

/**
 * The intake's one D1 batch. Both statements read their rows from one bound JSON parameter (so 500
 * claims are two statements, far inside D1's 100 bound parameters and the per-invocation query
 * budget): the claims INSERT … ON CONFLICT DO NOTHING RETURNING the rows it wrote, then the wire
 * bodies, each only where its claim now exists (a claim that lost on its month gets none; a replay's
 * body is already there).
 */
async function writeClaims(db: Db, cs: Candidate[]): Promise<Map<string, ClaimRow>> {
  const text = intakeStatements(db);
  const rows = JSON.stringify(cs.map((c) => jsonRow(c.row)));
  const bodies = JSON.stringify(cs.map((c) => ({ claimId: c.row.id, wireBody: c.wire, bodySha256: c.bodySha256, generatedAt: c.row.createdAt })));
  // The D1 binding or session this request's drizzle instance wraps.
  const d1 = db.$client;
  const [inserted] = await d1.batch<Record<string, unknown>>([d1.prepare(text.claims).bind(rows), d1.prepare(text.bodies).bind(bodies)]);
  return new Map(inserted.results.map((raw) => claimFromDriver(raw)).map((r) => [r.id, r]));
}

/** The follow-up read of the claims that did not insert: the rows with their ids, and the holders of their months. */
async function readConflicts(db: Db, cs: Candidate[]): Promise<{ byId: Map<string, ClaimRow>; holders: Map<string, ClaimRow> }> {
  const ids = JSON.stringify(cs.map((c) => c.row.id));
  const months = JSON.stringify(cs.map((c) => [c.row.ashaId, c.row.period]));
  const [sameId, holding] = await db.batch([
    db.select().from(claims).where(sql`${claims.id} IN (SELECT value FROM json_each(${ids}))`),
    db
      .select()
      .from(claims)
      .where(
        sql`${claims.holdsMonth} = 1 AND (${claims.ashaId}, ${claims.period}) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${months}))`,
      ),
  ]);
  return {
    byId: new Map(sameId.map((r) => [r.id, r])),
    holders: new Map(holding.map((r) => [monthKey(r.ashaId, r.period), r])),
  };
}

export type { ErrorDetail };
