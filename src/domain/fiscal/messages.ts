import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../storage/schema/fiscal-outbox";
import { fiscalCallbacks } from "../../storage/schema/fiscal-callbacks";
import { headerBase, type HeaderBase } from "../../adapters/ifix/envelope";
import type { IfixType } from "../../adapters/ifix/codec";
import { openText, sealText } from "./at-rest";
import { createLogger } from "../../lib/logger";
import { MAX_DELAY_SECONDS } from "../../lib/retry-after";

/** A queued delivery's lease: how long the queue is trusted with it before the sweep re-sends. */
export const DELIVERY_LEASE_MS = 5 * 60_000;

export interface FiscalDeliveryMessage {
  type: "fiscal.deliver";
  messageId: string;
  /** The outbox attempt count this message may claim (duplicates claim nothing). */
  attempt: number;
  /** The request that created the message, carried into the transaction log. */
  requestId?: string;
}

/** A PI's disburse, handed to delivery by its account's object (the token of that hand-off). */
export interface PiDeliveryMessage {
  type: "fiscal.deliver-pi";
  account: string;
  messageId: string;
  token: string;
}

/** What is stored (sealed) for a message: enough to sign it again at every send. */
export interface StoredMessage {
  header: HeaderBase;
  message: Record<string, unknown>;
}

export interface PreparedMessage {
  messageId: string;
  inserts: [ReturnType<typeof messageInsert>, ReturnType<typeof outboxInsert>];
}

// ON CONFLICT DO NOTHING covers the client's Idempotency-Key (a unique index per client): a second
// request with a key already used inserts nothing, and its outbox row is only written where its
// message row now exists.
const messageInsert = (db: Db, row: typeof fiscalMessages.$inferInsert) =>
  db.insert(fiscalMessages).values(row).onConflictDoNothing().returning({ id: fiscalMessages.id });
const outboxInsert = (db: Db, messageId: string, now: number) =>
  db
    .insert(fiscalOutbox)
    .select(sql`SELECT ${messageId}, 0, NULL, ${now} WHERE EXISTS (SELECT 1 FROM ${fiscalMessages} WHERE ${fiscalMessages.id} = ${messageId})`)
    .onConflictDoNothing();

const str = (v: unknown) => (typeof v === "string" ? v : null);

/**
 * Builds and seals a message with its header fields, and returns the two inserts (ledger row +
 * outbox row) for the caller's D1 batch. Nothing is signed or sent here: each send signs it
 * (`signForSend`), after the batch commits.
 */
export async function prepareMessage(
  env: Env,
  db: Db,
  p: {
    ownerId: string;
    type: IfixType;
    action: "create" | "update";
    message: Record<string, unknown>;
    parentId?: string | null;
    idempotency?: { key: string; requestHash: string } | null;
  },
): Promise<PreparedMessage> {
  const header = headerBase(env, p.type, p.action);
  const now = Date.now();
  const iso = new Date(now).toISOString();
  const stored: StoredMessage = { header, message: p.message };
  const wireBody = await sealText(env, JSON.stringify(stored), header.message_id);
  return {
    messageId: header.message_id,
    inserts: [
      messageInsert(db, {
        id: header.message_id,
        ownerId: p.ownerId,
        type: p.type,
        action: p.action,
        parentId: p.parentId ?? null,
        transactionId: str(p.message.transaction_id),
        linkedId: str(p.message.linked_id),
        piId: null,
        receiverId: header.receiver_id,
        locationCode: str(p.message.location_code),
        status: "QUEUED",
        deliveryStatus: "QUEUED",
        attempts: 0,
        wireBody,
        createdAt: iso,
        updatedAt: iso,
        idempotencyKey: p.idempotency?.key ?? null,
        requestHash: p.idempotency?.requestHash ?? null,
      }),
      outboxInsert(db, header.message_id, now),
    ],
  };
}

/**
 * A stored message, ready to sign again. Rows written before re-signing hold the signed envelope
 * ({signature, header, message}): the same header fields (message_ts aside) and message are re-used.
 */
export async function openStoredMessage(env: Env, sealed: string, messageId: string): Promise<StoredMessage> {
  const parsed = JSON.parse(await openText(env, sealed, messageId)) as { header: Record<string, unknown>; message: Record<string, unknown> };
  const { message_ts: _ts, ...base } = parsed.header;
  return { header: base as unknown as HeaderBase, message: parsed.message };
}

/**
 * Hands a delivery to the queue, then records the lease. A failure here loses nothing: the outbox
 * row stays unleased (or its lease expires) and the sweep sends it again.
 */
export async function enqueueDelivery(env: Env, db: Db, messageId: string, attempt: number, delayMs = 0, requestId?: string): Promise<boolean> {
  // The queue counts whole seconds; sub-second backoffs (tests, tiny bases) round to the nearest.
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(delayMs / 1000)));
  try {
    const body: FiscalDeliveryMessage = { type: "fiscal.deliver", messageId, attempt, ...(requestId ? { requestId } : {}) };
    await env.FISCAL_DELIVERY.send(body, delaySeconds ? { delaySeconds } : undefined);
  } catch {
    createLogger({ messageId }).warn("fiscal enqueue failed; the sweep will resend");
    return false;
  }
  await db
    .update(fiscalOutbox)
    .set({ leaseUntil: Date.now() + delaySeconds * 1000 + DELIVERY_LEASE_MS })
    .where(and(eq(fiscalOutbox.messageId, messageId), eq(fiscalOutbox.attempt, attempt), isNull(fiscalOutbox.leaseUntil)))
    .run()
    .catch(() => undefined);
  return true;
}

export interface FiscalMessageView {
  messageId: string;
  type: IfixType;
  action: "create" | "update";
  parentMessageId: string | null;
  transactionId: string | null;
  linkedId: string | null;
  piId: string | null;
  locationCode: string | null;
  status: string;
  statusMessage: string | null;
  deliveryStatus: string;
  attempts: number;
  lastHttpStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
  callbacks: {
    messageId: string;
    senderId: string;
    type: string;
    action: string | null;
    messageTs: number | null;
    status: string | null;
    statusMessage: string | null;
    matchedBy: string | null;
    receivedAt: string;
  }[];
}

/** The caller-facing fields of a fiscal message row (its list item; the detail adds callbacks). */
export function messageSummary(m: typeof fiscalMessages.$inferSelect) {
  return {
    messageId: m.id,
    type: m.type,
    action: m.action,
    parentMessageId: m.parentId,
    transactionId: m.transactionId,
    linkedId: m.linkedId,
    piId: m.piId,
    locationCode: m.locationCode,
    status: m.status,
    statusMessage: m.statusMessage,
    deliveryStatus: m.deliveryStatus,
    attempts: m.attempts,
    lastHttpStatus: m.lastHttpStatus,
    lastError: m.lastError,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    deliveredAt: m.deliveredAt,
  };
}

export async function getMessageView(db: Db, messageId: string): Promise<(FiscalMessageView & { ownerId: string }) | null> {
  const m = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, messageId)).get();
  if (!m) return null;
  const cbs = await db.select().from(fiscalCallbacks).where(eq(fiscalCallbacks.targetMessageId, messageId)).orderBy(asc(fiscalCallbacks.id)).all();
  return {
    ownerId: m.ownerId,
    ...messageSummary(m),
    callbacks: cbs.map((c) => ({
      messageId: c.messageId,
      senderId: c.senderId,
      type: c.type,
      action: c.action,
      messageTs: c.messageTs,
      status: c.statusCode,
      statusMessage: c.statusMessage,
      matchedBy: c.matchedBy,
      receivedAt: c.receivedAt,
    })),
  };
}
