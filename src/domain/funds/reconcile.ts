import { and, asc, eq, gt, lt, or } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { fundsAccounts } from "../../storage/schema/funds-accounts";
import { paymentInstructions } from "../../storage/schema/payment-instructions";
import { accountStub, candidateAccounts, projectBalance, type AccountKey } from "./accounts";
import { finalizePi, piRowUpdate } from "./payment-instructions";

/** Reservations older than this are settled by the sweep (no request runs this long). */
export const RESERVATION_TIMEOUT_MS = 2 * 60_000;

/**
 * A PI left RESERVED by a crash: each candidate account's object either holds its commit (finish
 * it: row, message, outbox, send) or records a tombstone so a late commit is refused; then the
 * reservation is dropped and the paymentId is free again.
 */
export async function settleReservation(env: Env, db: Db, row: typeof paymentInstructions.$inferSelect): Promise<"finalized" | "dropped"> {
  const candidates = await candidateAccounts(db, row.tenantId, row.requestedHeadOfAccount, row.requestedSsuCode, 1000);
  for (const account of candidates) {
    const r = await accountStub(env, account).abandonPi(row.piId);
    if (r.committed && r.pi) {
      await finalizePi(env, db, row, account, r.pi, r.balance);
      return "finalized";
    }
  }
  await db.delete(paymentInstructions).where(and(eq(paymentInstructions.piId, row.piId), eq(paymentInstructions.status, "RESERVED"))).run();
  return "dropped";
}

export async function settleStaleReservations(env: Env, db: Db, now = Date.now(), limit = 100) {
  const rows = await db
    .select()
    .from(paymentInstructions)
    .where(and(eq(paymentInstructions.status, "RESERVED"), lt(paymentInstructions.createdAt, new Date(now - RESERVATION_TIMEOUT_MS).toISOString())))
    .limit(limit)
    .all();
  let finalized = 0;
  for (const row of rows) if ((await settleReservation(env, db, row)) === "finalized") finalized++;
  return { settled: rows.length, finalized };
}

/**
 * Re-projects one account from its Durable Object: the balances (seq-guarded) and the states of PIs
 * changed since the last sync. Idempotent; converges after any crash between an object's change
 * and its D1 write.
 */
export async function reprojectAccount(env: Env, db: Db, row: typeof fundsAccounts.$inferSelect) {
  const key: AccountKey = { tenantId: row.tenantId, headOfAccount: row.headOfAccount, ssuCode: row.ssuCode };
  const stub = accountStub(env, key);
  const snapshot = await stub.snapshot();
  let synced = row.piSyncedSeq;
  const writes = [projectBalance(db, key, snapshot)] as ReturnType<typeof projectBalance | typeof piRowUpdate>[];
  if (snapshot.seq > synced) {
    const LIMIT = 200;
    const pis = await stub.pisSince(synced, LIMIT);
    for (const pi of pis) writes.push(piRowUpdate(db, pi, key));
    synced = pis.length === LIMIT ? pis[pis.length - 1].updatedSeq : snapshot.seq;
  }
  await db.batch([
    ...(writes as [ReturnType<typeof projectBalance>]),
    db
      .update(fundsAccounts)
      .set({ piSyncedSeq: synced })
      .where(and(eq(fundsAccounts.tenantId, key.tenantId), eq(fundsAccounts.headOfAccount, key.headOfAccount), eq(fundsAccounts.ssuCode, key.ssuCode), lt(fundsAccounts.piSyncedSeq, synced))),
  ]);
}

export interface ReprojectMessage {
  type: "funds.reproject";
  tenantId: string;
  headOfAccount: string;
  ssuCode: string;
}

/** Pages through every registered account and queues one re-projection each (100 per sendBatch). */
export async function fanOutReprojection(env: Env, db: Db, pageSize = 100, maxPages = 300) {
  let after: [string, string, string] | null = null;
  let count = 0;
  for (let page = 0; page < maxPages; page++) {
    const cursor: [string, string, string] | null = after;
    const rows: AccountKey[] = await db
      .select({ tenantId: fundsAccounts.tenantId, headOfAccount: fundsAccounts.headOfAccount, ssuCode: fundsAccounts.ssuCode })
      .from(fundsAccounts)
      .where(
        cursor
          ? or(
              gt(fundsAccounts.tenantId, cursor[0]),
              and(eq(fundsAccounts.tenantId, cursor[0]), gt(fundsAccounts.headOfAccount, cursor[1])),
              and(eq(fundsAccounts.tenantId, cursor[0]), eq(fundsAccounts.headOfAccount, cursor[1]), gt(fundsAccounts.ssuCode, cursor[2])),
            )
          : undefined,
      )
      .orderBy(asc(fundsAccounts.tenantId), asc(fundsAccounts.headOfAccount), asc(fundsAccounts.ssuCode))
      .limit(pageSize)
      .all();
    if (rows.length) {
      const bodies: ReprojectMessage[] = rows.map((r) => ({ type: "funds.reproject", ...r }));
      await env.FISCAL_DELIVERY.sendBatch(bodies.map((body) => ({ body })));
    }
    count += rows.length;
    if (rows.length < pageSize) break;
    const last = rows[rows.length - 1];
    after = [last.tenantId, last.headOfAccount, last.ssuCode];
  }
  return count;
}

/** The queue consumer's side of a fan-out: re-project one account (idempotent). */
export async function reprojectByKey(env: Env, db: Db, key: AccountKey) {
  const row = await db
    .select()
    .from(fundsAccounts)
    .where(and(eq(fundsAccounts.tenantId, key.tenantId), eq(fundsAccounts.headOfAccount, key.headOfAccount), eq(fundsAccounts.ssuCode, key.ssuCode)))
    .get();
  if (row) await reprojectAccount(env, db, row);
}
