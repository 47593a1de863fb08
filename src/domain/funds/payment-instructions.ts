import { and, desc, eq, inArray, lt, ne, notInArray, or, sql, type SQL } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { paymentInstructions } from "../../storage/schema/payment-instructions";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { GatewayError } from "../../errors";
import { paiseToRupees } from "../../lib/money";
import { createLogger } from "../../lib/logger";
import { getIfixConfig, getSigningKey } from "../../adapters/ifix/config";
import { headerBase } from "../../adapters/ifix/envelope";
import { ALL_TENANTS, tenantAllowed } from "../security/scopes";
import { openText, sealText } from "../fiscal/at-rest";
import { accountStub, accountStubByHex, candidateAccounts, type AccountKey } from "./accounts";
import { accountIdOfPi, newPiSuffix } from "./pi-id";
import { PURGED } from "./retention";
import { registryFor, type RegistryCrashPoint, type RegistryPiOutcome } from "../../durable-objects/funds-registry";
import type { DeliveryState, PiLogEntry, PiStatus } from "./types";
import { piStatusFromIfix } from "./types";
import { raiseAlert } from "../fiscal/alerts";

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
  programCode?: string;
  amount: number; // paise
  beneficiaries: Beneficiary[];
}

/**
 * Who acts: the owner id of what it creates, the audit actor, the tenants it may touch, whether it
 * may act on PIs it does not own (`seesAll`: the admin key and the console's named people) and
 * whether it has the admin's say (`admin`: after iFIX acknowledged a disburse, FAILED with a reason).
 */
export interface Actor {
  ownerId: string;
  actor: string;
  tenants: readonly string[];
  admin: boolean;
  seesAll: boolean;
}

/**
 * The acting principal as the funds rules see it: the admin key; a client (its own PIs, its
 * tenants); or a person signed in to the console through Access (CONTRACT §10: an operator resolves
 * stuck payments within the rules, an admin also overrides), acting under their email.
 */
export const actorOfPrincipal = (
  p:
    | { kind: "admin" | "client"; id: string; tenants: readonly string[] }
    | { kind: "person"; id: string; email: string; role: string; tenants: readonly string[] },
): Actor => ({
  ownerId: p.id,
  actor: p.kind === "admin" ? "admin" : p.kind === "person" ? p.email : `client:${p.id}`,
  tenants: p.tenants,
  admin: p.kind === "admin" || (p.kind === "person" && p.role === "admin"),
  seesAll: p.kind !== "client",
});

/**
 * The disburse message of a PI without what only its paying account knows (the PI's id and the
 * transaction ids made from it, head of account, SSU, the program code of its initial allotment):
 * built and sealed before the account is chosen, completed by `disburseMessage` at each send.
 */
export function disburseTemplate(input: Pick<PiInput, "paymentId" | "tenantId" | "amount" | "programCode" | "beneficiaries">) {
  const amount = paiseToRupees(input.amount);
  return {
    name: `Payment instruction ${input.paymentId}`.slice(0, 256),
    linked_id: `payment:${input.paymentId}`,
    location_code: input.tenantId,
    ...(input.programCode ? { program_code: input.programCode } : {}),
    net_amount: amount,
    gross_amount: amount,
    currency_code: "INR",
    additional_details: { payment_id: input.paymentId },
    children: input.beneficiaries.map((b) => ({
      name: b.name,
      account_code: b.accountCode,
      net_amount: paiseToRupees(b.amount),
      gross_amount: paiseToRupees(b.amount),
      currency_code: "INR",
    })),
  };
}
export type DisburseTemplate = ReturnType<typeof disburseTemplate>;

/** The disburse as sent: the template, completed with the paying account's fields (the same every send). */
export function disburseMessage(t: DisburseTemplate, d: { piId: string; account: AccountKey; programCode: string | null }): Record<string, unknown> {
  const programCode = t.program_code ?? d.programCode ?? undefined;
  return {
    name: t.name,
    transaction_id: d.piId,
    linked_id: t.linked_id,
    location_code: t.location_code,
    ...(programCode ? { program_code: programCode } : {}),
    net_amount: t.net_amount,
    gross_amount: t.gross_amount,
    currency_code: t.currency_code,
    additional_details: { ...t.additional_details, head_of_account: d.account.headOfAccount, ssu_code: d.account.ssuCode },
    children: t.children.map((c, i) => ({ ...c, transaction_id: `${d.piId}/${i + 1}` })),
  };
}

const unavailable = () =>
  new GatewayError("UNAVAILABLE", "the funds service could not settle this request; try again", { headers: { "Retry-After": "1" } });

/**
 * Creates a PI: the disburse is built and sealed, then the paymentId's registry claims the id and
 * asks the candidate accounts in order to commit (check and deduct, PI, log, audit and the disburse's
 * outbox entry in one transaction of the paying account's object). The account's alarm projects it
 * to D1 and hands the disburse to delivery. Not enough funds anywhere → nothing deducted, the
 * paymentId free again.
 */
export async function createPaymentInstruction(
  env: Env,
  db: Db,
  who: Actor,
  input: PiInput,
  requestId: string | null,
  opts: { crash?: RegistryCrashPoint | null } = {},
): Promise<{ piId: string; status: PiStatus }> {
  const total = input.beneficiaries.reduce((s, b) => s + b.amount, 0);
  // Every addend is a safe integer; a sum past 2^53 could round into a false match, so it never matches.
  if (!Number.isSafeInteger(total) || total !== input.amount) {
    throw new GatewayError("AMOUNT_MISMATCH", "the beneficiaries' amounts do not add up to amount", {
      details: [{ path: "beneficiaries", message: `sum ${paiseToRupees(total)} ≠ amount ${paiseToRupees(input.amount)}` }],
    });
  }
  getIfixConfig(env); // 503 CONFIG_INVALID before any funds move
  await getSigningKey(env); // a key that cannot sign is found now, not after the funds are committed
  const messageId = crypto.randomUUID();
  const payload = await sealText(env, JSON.stringify(disburseTemplate(input)), messageId);
  const header = headerBase(env, "disburse", "create", messageId);
  const ask = async (candidates: AccountKey[]): Promise<RegistryPiOutcome> =>
    registryFor(env, "pay", input.paymentId).createPi(
      {
        paymentId: input.paymentId,
        ownerId: who.ownerId,
        suffix: newPiSuffix(),
        candidates,
        commit: {
          paymentId: input.paymentId,
          ownerId: who.ownerId,
          amount: input.amount,
          beneficiaryCount: input.beneficiaries.length,
          programCode: input.programCode ?? null,
          requestedHeadOfAccount: input.headOfAccount ?? null,
          requestedSsuCode: input.ssuCode ?? null,
          messageId,
          payload,
          header,
          actor: who.actor,
          requestId,
        },
      },
      opts.crash ?? null,
    );
  let first = await candidateAccounts(db, input.tenantId, input.headOfAccount, input.ssuCode);
  // No account known in the isolate's copy: read the list again before deciding there is none.
  if (!first.keys.length && first.cached) first = await candidateAccounts(db, input.tenantId, input.headOfAccount, input.ssuCode, { fresh: true });
  let outcome: RegistryPiOutcome = first.keys.length ? await ask(first.keys) : { kind: "insufficient" };
  if (outcome.kind === "insufficient" && first.cached && first.keys.length) {
    // The list was the isolate's copy: an account made since then may have the funds.
    const fresh = await candidateAccounts(db, input.tenantId, input.headOfAccount, input.ssuCode, { fresh: true });
    const known = new Set(first.keys.map((k) => JSON.stringify(k)));
    if (fresh.keys.some((k) => !known.has(JSON.stringify(k)))) outcome = await ask(fresh.keys);
  }
  switch (outcome.kind) {
    case "created":
      return { piId: outcome.piId, status: outcome.status };
    case "exists":
      throw new GatewayError("PI_EXISTS", "this paymentId already has a payment instruction that has not failed", {
        details: outcome.piId ? [{ piId: outcome.piId, status: outcome.status }] : [],
      });
    case "foreign":
      throw new GatewayError("CONFLICT", "this paymentId is already in use");
    case "insufficient":
      throw new GatewayError("INSUFFICIENT_FUNDS", "no account has enough available funds for this payment", {
        details: [{ path: "amount", message: `${paiseToRupees(input.amount)} is more than the available funds` }],
      });
    default:
      throw unavailable();
  }
}

/** Finds the object holding a PI: the one its id names, else (PIs made before) through its D1 row. */
export async function locatePi(env: Env, db: Db, piId: string) {
  const hex = accountIdOfPi(piId);
  if (hex) {
    const stub = accountStubByHex(env, hex);
    return stub ? { stub, legacy: null } : null;
  }
  const row = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, piId)).get();
  if (!row || !row.headOfAccount || !row.ssuCode || row.status === "RESERVED") return null;
  return { stub: accountStub(env, { tenantId: row.tenantId, headOfAccount: row.headOfAccount, ssuCode: row.ssuCode }), legacy: row };
}

export interface PiView {
  piId: string;
  paymentId: string;
  tenantId: string;
  headOfAccount: string | null;
  ssuCode: string | null;
  programCode: string | null;
  amount: number;
  status: PiStatus;
  beneficiaryCount: number;
  /** Only for the PI's owner; empty for anyone else (and once past retention). */
  beneficiaries: { name: string; accountCode: string; amount: number }[];
  log: PiLogEntry[];
  logTotal: number;
  logNextCursor: string | null;
  delivery: { messageId: string; status: string; deliveryStatus: string; attempts: number; lastError: string | null } | null;
  conflict: string | null;
  createdAt: string;
  updatedAt: string;
}

const DELIVERY_STATUS: Record<DeliveryState["state"], string> = {
  pending: "QUEUED",
  leased: "QUEUED",
  delivered: "DELIVERED",
  rejected: "REJECTED",
  failed: "FAILED",
  cancelled: "CANCELLED",
};

async function beneficiariesOf(env: Env, sealed: string | null, aad: string, legacy: boolean) {
  if (!sealed || sealed === PURGED) return [];
  const plain = JSON.parse(await openText(env, sealed, aad));
  if (legacy) return (plain as Beneficiary[]).map((b) => ({ name: b.name, accountCode: b.accountCode, amount: paiseToRupees(b.amount) }));
  return (plain as DisburseTemplate).children.map((c) => ({ name: c.name, accountCode: c.account_code, amount: c.net_amount }));
}

/**
 * The PI with a page of its log, from its account's object (read-your-writes: no projection lag).
 * 404 for anyone but its owner and the admin key; 403 for a tenant outside the caller's.
 */
export async function getPiView(
  env: Env,
  db: Db,
  piId: string,
  who: Actor,
  page: { logLimit?: number; logBefore?: number | null } = {},
): Promise<PiView> {
  const at = await locatePi(env, db, piId);
  const got = at ? await at.stub.getPi(piId, { limit: page.logLimit, before: page.logBefore ?? null }) : null;
  if (!at || !got) throw new GatewayError("NOT_FOUND", "payment instruction not found");
  const ownerId = got.pi.ownerId ?? at.legacy?.ownerId ?? null;
  if (!who.seesAll && ownerId !== who.ownerId) throw new GatewayError("NOT_FOUND", "payment instruction not found");
  const tenantId = got.pi.tenantId ?? at.legacy?.tenantId ?? "";
  if (!tenantAllowed(who.tenants, tenantId)) throw forbiddenTenant();
  // Decrypted only for the PI's owner (CONTRACT §11); others (operators too) see how many there are, not who.
  let beneficiaries: PiView["beneficiaries"] = [];
  if (ownerId === who.ownerId) {
    beneficiaries = at.legacy
      ? await beneficiariesOf(env, at.legacy.beneficiariesEnc, piId, true)
      : await beneficiariesOf(env, got.payload, got.delivery?.messageId ?? "", false);
  }
  let delivery: PiView["delivery"] = null;
  if (got.delivery) {
    const d = got.delivery;
    delivery = {
      messageId: d.messageId,
      status: got.pi.ifixStatus ?? (d.state === "delivered" ? "RECEIVED" : "QUEUED"),
      deliveryStatus: DELIVERY_STATUS[d.state],
      attempts: d.attempts,
      lastError: d.lastError,
    };
  } else if (at.legacy) {
    const m = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, at.legacy.messageId)).get();
    if (m) delivery = { messageId: m.id, status: m.status, deliveryStatus: m.deliveryStatus, attempts: m.attempts, lastError: m.lastError };
  }
  return {
    piId,
    paymentId: got.pi.paymentId,
    tenantId,
    headOfAccount: got.pi.headOfAccount ?? at.legacy?.headOfAccount ?? null,
    ssuCode: got.pi.ssuCode ?? at.legacy?.ssuCode ?? null,
    programCode: got.pi.programCode,
    amount: paiseToRupees(got.pi.amount),
    status: got.pi.status,
    beneficiaryCount: got.pi.beneficiaryCount ?? at.legacy?.beneficiaryCount ?? 0,
    beneficiaries,
    log: got.log,
    logTotal: got.logTotal,
    logNextCursor: got.logNext === null ? null : String(got.logNext),
    delivery,
    conflict: got.conflict,
    createdAt: got.pi.createdAt,
    updatedAt: got.pi.updatedAt,
  };
}

const forbiddenTenant = () =>
  new GatewayError("FORBIDDEN", "this client may not act for that tenant", {
    details: [{ path: "tenantId", message: "outside the client's tenants" }],
  });

/**
 * A status call (CONTRACT §7): its owner (or the admin key) moves the PI in its account's object,
 * which logs and audits the call in the same transaction whatever its outcome. Once iFIX has
 * acknowledged the disburse, FAILED takes iFIX's callback or the admin key with a reason.
 */
export async function setPiStatusByApi(env: Env, db: Db, piId: string, to: PiStatus, reason: string | null, who: Actor, requestId: string | null) {
  const at = await locatePi(env, db, piId);
  const head = at ? await at.stub.piLiveness(piId) : null;
  if (!at || !head?.exists) throw new GatewayError("NOT_FOUND", "payment instruction not found");
  const ownerId = head.ownerId ?? at.legacy?.ownerId ?? null;
  if (!who.seesAll && ownerId !== who.ownerId) throw new GatewayError("NOT_FOUND", "payment instruction not found");
  const tenantId = head.tenantId ?? at.legacy?.tenantId ?? "";
  if (!tenantAllowed(who.tenants, tenantId)) throw forbiddenTenant();
  const r = await at.stub.setPiStatus(piId, to, {
    eventId: `api:${crypto.randomUUID()}`,
    source: who.admin ? "admin" : "api",
    actor: who.actor,
    reason,
    requestId,
  });
  if (r.ok) return r;
  if (r.code === "NOT_FOUND") throw new GatewayError("NOT_FOUND", "payment instruction not found");
  if (r.code === "REASON_REQUIRED") {
    throw new GatewayError("VALIDATION_FAILED", "iFIX has acknowledged this disburse: setting it FAILED needs a reason", {
      details: [{ path: "reason", message: "required once iFIX has acknowledged the disburse" }],
    });
  }
  throw new GatewayError("INVALID_STATE", r.why, { details: [{ from: r.from, to: r.to }] });
}

/**
 * An on-disburse status for a PI, applied in its account's object (idempotent on the callback's
 * event id). A status iFIX reports after the PI was FAILED (final) is kept in the log, flagged and
 * alerted: money may have moved that the account has given back.
 */
export async function applyPiCallback(env: Env, db: Db, piId: string, ifixStatus: string, text: string | null, eventId: string, senderId: string) {
  const at = await locatePi(env, db, piId);
  if (!at) return null;
  const to = piStatusFromIfix(ifixStatus);
  const r = await at.stub.setPiStatus(piId, to, {
    eventId,
    source: "callback",
    actor: `ifix:${senderId}`.slice(0, 160),
    reason: text ?? `iFIX ${ifixStatus}`,
    requestId: null,
    ifixStatus,
  });
  if (!r.ok && r.code === "INVALID_STATE" && r.from === "FAILED" && to && to !== "FAILED") {
    createLogger({ piId }).error("iFIX reports money moved for a FAILED payment instruction", { ifixStatus });
    await raiseAlert(env, db, {
      kind: "funds_conflict",
      subject: piId,
      value: 1,
      threshold: 1,
      message: `iFIX reported ${ifixStatus} for ${piId} after it was FAILED and its funds released: reconcile by hand`,
    });
  }
  return r;
}

const FINAL: PiStatus[] = ["SUCCESSFUL", "COMPLETED", "FAILED"];

/**
 * PIs for operators and owners, from D1's projection (lists may lag the objects by moments).
 * `stuck`: not final and either its disburse could not be delivered (dead-lettered or refused), its
 * delivery timed out at least once, or nothing has moved it for 24 hours — each needs iFIX's word or
 * an operator's. Clients see only their tenants.
 */
export async function listPis(
  db: Db,
  q: { ownerId?: string; tenantId?: string; tenants?: readonly string[]; status?: string; stuck?: boolean; limit: number; after?: [string, string] },
) {
  const where: SQL[] = [ne(paymentInstructions.status, "RESERVED")];
  if (q.ownerId) where.push(eq(paymentInstructions.ownerId, q.ownerId));
  if (q.tenantId) where.push(eq(paymentInstructions.tenantId, q.tenantId));
  // One bound parameter however many tenants a client has.
  if (q.tenants && !q.tenants.includes(ALL_TENANTS))
    where.push(sql`${paymentInstructions.tenantId} IN (SELECT value FROM json_each(${JSON.stringify(q.tenants)}))`);
  if (q.status) where.push(eq(paymentInstructions.status, q.status as (typeof paymentInstructions.$inferSelect)["status"]));
  if (q.stuck) {
    const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
    where.push(notInArray(paymentInstructions.status, FINAL));
    where.push(
      or(
        inArray(fiscalMessages.deliveryStatus, ["FAILED", "REJECTED"]),
        eq(fiscalMessages.lastError, "timeout"),
        lt(paymentInstructions.updatedAt, dayAgo),
      )!,
    );
  }
  if (q.after) {
    where.push(
      or(
        lt(paymentInstructions.createdAt, q.after[0]),
        and(eq(paymentInstructions.createdAt, q.after[0]), lt(paymentInstructions.piId, q.after[1])),
      )!,
    );
  }
  const rows = await db
    .select({
      pi: paymentInstructions,
      msg: {
        id: fiscalMessages.id,
        status: fiscalMessages.status,
        deliveryStatus: fiscalMessages.deliveryStatus,
        attempts: fiscalMessages.attempts,
        lastError: fiscalMessages.lastError,
      },
    })
    .from(paymentInstructions)
    .leftJoin(fiscalMessages, eq(fiscalMessages.id, paymentInstructions.messageId))
    .where(and(...where))
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
      status: pi.status as PiStatus,
      delivery: msg?.id
        ? { messageId: msg.id, status: msg.status!, deliveryStatus: msg.deliveryStatus!, attempts: msg.attempts!, lastError: msg.lastError ?? null }
        : null,
      createdAt: pi.createdAt,
      updatedAt: pi.updatedAt,
    })),
    next: rows.length > q.limit ? ([page[page.length - 1].pi.createdAt, page[page.length - 1].pi.piId] as [string, string]) : null,
  };
}
