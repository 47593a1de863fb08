import { and, desc, eq, inArray, lt, notInArray, or, type SQL } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { paymentInstructions } from "../../storage/schema/payment-instructions";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { GatewayError } from "../../errors";
import { auditInsert } from "../../storage/audit";
import { paiseToRupees } from "../../lib/money";
import { randomToken } from "../security/crypto";
import { openText, sealText } from "../fiscal/at-rest";
import { enqueueDelivery, prepareMessage } from "../fiscal/messages";
import { accountStub, candidateAccounts, projectBalance, type AccountKey } from "./accounts";
import { PURGED } from "./retention";
import { piStatusFromIfix, type PiLogEntry, type PiState, type PiStatus } from "./types";
import type { IfixStatus } from "../../adapters/ifix/codec";

export interface Beneficiary {
  name: string;
  accountCode: string;
  amount: number; // paise
}

export interface PiInput {
  paymentId: string;
  tenantId: string;
  headOfAccount?: string;
  ssuCode?: string;
  amount: number; // paise
  beneficiaries: Beneficiary[];
}

type PiRow = typeof paymentInstructions.$inferSelect;

/** The D1 copy of a PI's state, applied only when newer (Durable Object seq) than what it holds. */
export function piRowUpdate(db: Db, pi: PiState, account?: AccountKey) {
  return db
    .update(paymentInstructions)
    .set({
      status: pi.status,
      live: pi.status === "FAILED" ? 0 : 1,
      seq: pi.updatedSeq,
      updatedAt: pi.updatedAt,
      ...(account ? { headOfAccount: account.headOfAccount, ssuCode: account.ssuCode } : {}),
    })
    .where(and(eq(paymentInstructions.piId, pi.piId), lt(paymentInstructions.seq, pi.updatedSeq)));
}

const accountOf = (row: PiRow): AccountKey | null =>
  row.headOfAccount && row.ssuCode ? { tenantId: row.tenantId, headOfAccount: row.headOfAccount, ssuCode: row.ssuCode } : null;

/** The signed disburse message of a PI (the only place its beneficiaries are decrypted to send). */
export function disburseMessage(row: Pick<PiRow, "piId" | "paymentId" | "tenantId" | "amount">, account: AccountKey, beneficiaries: Beneficiary[]) {
  const amount = paiseToRupees(row.amount);
  return {
    name: `Payment instruction ${row.paymentId}`.slice(0, 256),
    transaction_id: row.piId,
    linked_id: `payment:${row.paymentId}`,
    location_code: row.tenantId,
    net_amount: amount,
    gross_amount: amount,
    currency_code: "INR",
    additional_details: { head_of_account: account.headOfAccount, ssu_code: account.ssuCode, payment_id: row.paymentId },
    children: beneficiaries.map((b, i) => ({
      name: b.name,
      transaction_id: `${row.piId}/${i + 1}`,
      account_code: b.accountCode,
      net_amount: paiseToRupees(b.amount),
      gross_amount: paiseToRupees(b.amount),
      currency_code: "INR",
    })),
  };
}

async function beneficiariesOf(env: Env, row: Pick<PiRow, "piId" | "beneficiariesEnc">): Promise<Beneficiary[]> {
  if (row.beneficiariesEnc === PURGED) return []; // past retention (CONTRACT §11)
  return JSON.parse(await openText(env, row.beneficiariesEnc, row.piId)) as Beneficiary[];
}

/**
 * After funds are committed: the PI row, its disburse message and outbox row in one D1 batch (all
 * idempotent: the message id was fixed at reservation), then the queue send.
 */
export async function finalizePi(
  env: Env,
  db: Db,
  row: PiRow,
  account: AccountKey,
  pi: PiState,
  balance: Parameters<typeof projectBalance>[2],
  beneficiaries?: Beneficiary[],
  requestId?: string,
) {
  const bens = beneficiaries ?? (await beneficiariesOf(env, row));
  const prepared = await prepareMessage(env, db, {
    ownerId: row.ownerId,
    type: "disburse",
    action: "create",
    message: disburseMessage(row, account, bens),
    piId: row.piId,
    messageId: row.messageId,
  });
  await db.batch([piRowUpdate(db, pi, account), ...prepared.inserts, projectBalance(db, account, balance)]);
  await enqueueDelivery(env, db, row.messageId, 0, 0, requestId);
}

/**
 * Creates a PI: reserve the paymentId (a unique index over live PIs makes this race-free), commit
 * the amount in one account's Durable Object (check and deduct in one synchronous transaction),
 * then record and send the disburse message. Not enough funds anywhere → nothing deducted.
 */
export async function createPaymentInstruction(env: Env, db: Db, ownerId: string, input: PiInput, requestId?: string): Promise<{ piId: string; status: PiStatus }> {
  const total = input.beneficiaries.reduce((s, b) => s + b.amount, 0);
  // Every addend is a safe integer; a sum past 2^53 could round into a false match, so it never matches.
  if (!Number.isSafeInteger(total) || total !== input.amount) {
    throw new GatewayError("AMOUNT_MISMATCH", "the beneficiaries' amounts do not add up to amount", {
      details: [{ path: "beneficiaries", message: `sum ${paiseToRupees(total)} ≠ amount ${paiseToRupees(input.amount)}` }],
    });
  }
  const piId = `pi_${randomToken(15)}`;
  const now = new Date().toISOString();
  const row: PiRow = {
    piId,
    paymentId: input.paymentId,
    ownerId,
    tenantId: input.tenantId,
    requestedHeadOfAccount: input.headOfAccount ?? null,
    requestedSsuCode: input.ssuCode ?? null,
    headOfAccount: null,
    ssuCode: null,
    amount: input.amount,
    beneficiaryCount: input.beneficiaries.length,
    beneficiariesEnc: await sealText(env, JSON.stringify(input.beneficiaries), piId),
    status: "RESERVED",
    live: 1,
    seq: 0,
    messageId: crypto.randomUUID(),
    createdAt: now,
    updatedAt: now,
  };
  const reserved = await db.insert(paymentInstructions).values(row).onConflictDoNothing().returning({ piId: paymentInstructions.piId }).all();
  if (!reserved.length) {
    const live = await db
      .select({ ownerId: paymentInstructions.ownerId, piId: paymentInstructions.piId, status: paymentInstructions.status })
      .from(paymentInstructions)
      .where(and(eq(paymentInstructions.paymentId, input.paymentId), eq(paymentInstructions.live, 1)))
      .get();
    if (live && live.ownerId !== ownerId) throw new GatewayError("CONFLICT", "this paymentId is already in use");
    throw new GatewayError("PI_EXISTS", "this paymentId already has a payment instruction that has not failed", {
      details: live ? [{ piId: live.piId, status: live.status }] : [],
    });
  }

  const candidates = await candidateAccounts(db, input.tenantId, input.headOfAccount, input.ssuCode, 100);
  for (const account of candidates) {
    // An error here leaves the reservation for the sweep, which settles it with abandonPi.
    const r = await accountStub(env, account).commitPi(piId, input.paymentId, input.amount);
    if (r.ok) {
      await finalizePi(env, db, row, account, r.pi, r.balance, input.beneficiaries, requestId);
      return { piId, status: r.pi.status };
    }
    if (r.code === "ABANDONED") break;
  }
  await db.delete(paymentInstructions).where(and(eq(paymentInstructions.piId, piId), eq(paymentInstructions.status, "RESERVED"))).run();
  throw new GatewayError("INSUFFICIENT_FUNDS", "no account has enough available funds for this payment", {
    details: [{ path: "amount", message: `${paiseToRupees(input.amount)} is more than the available funds` }],
  });
}

/** An on-disburse status for a PI: moves it in its Durable Object; returns the D1 writes to batch. */
export async function applyPiCallback(env: Env, db: Db, piId: string, ifixStatus: IfixStatus, text: string | null, eventId: string) {
  const to = piStatusFromIfix(ifixStatus);
  if (!to) return [];
  const row = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, piId)).get();
  const account = row && accountOf(row);
  if (!row || !account) return [];
  const r = await accountStub(env, account).setPiStatus(piId, to, { eventId, source: "callback", reason: text ?? `iFIX ${ifixStatus}` });
  if (!r.ok || !r.changed) return [];
  return [piRowUpdate(db, r.pi), projectBalance(db, account, r.balance)];
}

export interface PiView {
  piId: string;
  paymentId: string;
  tenantId: string;
  headOfAccount: string | null;
  ssuCode: string | null;
  amount: number;
  status: PiStatus;
  beneficiaryCount: number;
  /** Only for the PI's owner; empty for anyone else. */
  beneficiaries: { name: string; accountCode: string; amount: number }[];
  log: (Omit<PiLogEntry, "released"> & { released: boolean })[];
  delivery: { messageId: string; status: string; deliveryStatus: string; attempts: number; lastError: string | null } | null;
  createdAt: string;
  updatedAt: string;
}

/** The PI with its log; beneficiaries' names and account codes only for the PI's owner. */
export async function getPiView(env: Env, db: Db, row: PiRow, revealTo: string | null): Promise<PiView | null> {
  const account = accountOf(row);
  if (!account || row.status === "RESERVED") return null;
  const got = await accountStub(env, account).getPi(row.piId);
  if (!got) return null;
  // Decrypted only for the PI's owner (CONTRACT §11); others see how many there are, not who.
  const bens = revealTo === row.ownerId ? await beneficiariesOf(env, row) : [];
  const msg = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, row.messageId)).get();
  return {
    piId: row.piId,
    paymentId: row.paymentId,
    tenantId: row.tenantId,
    headOfAccount: account.headOfAccount,
    ssuCode: account.ssuCode,
    amount: paiseToRupees(row.amount),
    status: got.pi.status,
    beneficiaryCount: row.beneficiaryCount,
    beneficiaries: bens.map((b) => ({ name: b.name, accountCode: b.accountCode, amount: paiseToRupees(b.amount) })),
    log: got.log,
    delivery: msg ? { messageId: msg.id, status: msg.status, deliveryStatus: msg.deliveryStatus, attempts: msg.attempts, lastError: msg.lastError } : null,
    createdAt: row.createdAt,
    updatedAt: got.pi.updatedAt,
  };
}

/** An API status call (audited as a PI status override). Every call lands in the PI's log. */
export async function setPiStatusByApi(env: Env, db: Db, row: PiRow, to: PiStatus, reason: string | null, actor: string, requestId: string) {
  const account = accountOf(row);
  if (!account || row.status === "RESERVED") throw new GatewayError("INVALID_STATE", "the payment instruction is still being created");
  const r = await accountStub(env, account).setPiStatus(row.piId, to, { eventId: `api:${crypto.randomUUID()}`, source: "api", reason });
  if (!r.ok && r.code === "NOT_FOUND") throw new GatewayError("NOT_FOUND", "payment instruction not found");
  const audit = auditInsert(db, {
    actor,
    action: "funds.pi_status_override",
    targetType: "payment_instruction",
    targetId: row.piId,
    before: { status: r.from },
    after: { status: r.ok ? r.to : r.from, requested: to, reason, accepted: r.ok, released: r.ok ? r.released : false },
    requestId,
  });
  if (!r.ok) {
    await audit.run();
    throw new GatewayError("INVALID_STATE", `a payment instruction cannot move from ${r.from} to ${r.to}`, { details: [{ from: r.from, to: r.to }] });
  }
  await db.batch([audit, ...(r.changed ? [piRowUpdate(db, r.pi), projectBalance(db, account, r.balance)] : [])]);
}

const FINAL: PiStatus[] = ["SUCCESSFUL", "COMPLETED", "FAILED"];

/**
 * PIs for operators and owners. `stuck`: not final and either its disburse could not be delivered
 * (dead-lettered or refused), its delivery timed out at least once, it is still reserved after
 * 5 minutes, or nothing has moved it for 24 hours — each needs iFIX's word or an operator's.
 */
export async function listPis(
  db: Db,
  q: { ownerId?: string; tenantId?: string; status?: string; stuck?: boolean; limit: number; after?: [string, string] },
) {
  const where: SQL[] = [];
  if (q.ownerId) where.push(eq(paymentInstructions.ownerId, q.ownerId));
  if (q.tenantId) where.push(eq(paymentInstructions.tenantId, q.tenantId));
  if (q.status) where.push(eq(paymentInstructions.status, q.status as PiRow["status"]));
  if (q.stuck) {
    const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
    const fiveMinAgo = new Date(Date.now() - 300_000).toISOString();
    where.push(notInArray(paymentInstructions.status, FINAL));
    where.push(
      or(
        inArray(fiscalMessages.deliveryStatus, ["FAILED", "REJECTED"]),
        eq(fiscalMessages.lastError, "timeout"),
        and(eq(paymentInstructions.status, "RESERVED"), lt(paymentInstructions.createdAt, fiveMinAgo)),
        lt(paymentInstructions.updatedAt, dayAgo),
      )!,
    );
  }
  if (q.after) {
    where.push(
      or(lt(paymentInstructions.createdAt, q.after[0]), and(eq(paymentInstructions.createdAt, q.after[0]), lt(paymentInstructions.piId, q.after[1])))!,
    );
  }
  const rows = await db
    .select({ pi: paymentInstructions, msg: { id: fiscalMessages.id, status: fiscalMessages.status, deliveryStatus: fiscalMessages.deliveryStatus, attempts: fiscalMessages.attempts, lastError: fiscalMessages.lastError } })
    .from(paymentInstructions)
    .leftJoin(fiscalMessages, eq(fiscalMessages.id, paymentInstructions.messageId))
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(paymentInstructions.createdAt), desc(paymentInstructions.piId))
    .limit(q.limit + 1)
    .all();
  const page = rows.slice(0, q.limit);
  return {
    items: page.map(({ pi, msg }) => ({
      piId: pi.piId,
      paymentId: pi.paymentId,
      tenantId: pi.tenantId,
      headOfAccount: pi.headOfAccount,
      ssuCode: pi.ssuCode,
      amount: paiseToRupees(pi.amount),
      status: pi.status,
      delivery: msg?.id ? { messageId: msg.id, status: msg.status!, deliveryStatus: msg.deliveryStatus!, attempts: msg.attempts!, lastError: msg.lastError ?? null } : null,
      createdAt: pi.createdAt,
      updatedAt: pi.updatedAt,
    })),
    next: rows.length > q.limit ? ([page[page.length - 1].pi.createdAt, page[page.length - 1].pi.piId] as [string, string]) : null,
  };
}
