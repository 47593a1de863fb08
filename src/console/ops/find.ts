import { and, asc, desc, eq, or } from "drizzle-orm";
import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import { claims } from "../../storage/schema/claims";
import { claimDeliveries } from "../../storage/schema/claim-deliveries";
import { claimSubmissions } from "../../storage/schema/claim-submissions";
import { claimWebhooks } from "../../storage/schema/claim-webhooks";
import { fiscalMessages } from "../../storage/schema/fiscal-messages";
import { fiscalCallbacks } from "../../storage/schema/fiscal-callbacks";
import { paymentInstructions } from "../../storage/schema/payment-instructions";
import { upstreamCalls } from "../../storage/schema/upstream-calls";
import { auditLog } from "../../storage/schema/audit-log";
import { deadLetters } from "../../storage/schema/dead-letters";
import { getPiView, type Actor } from "../../domain/funds/payment-instructions";
import { redactedBody } from "./transactions";

/** Rows shown per section of a detail page (newest first where it is a history). */
const SECTION = 200;

export type FoundKind = "claim" | "fiscal_message" | "payment_instruction" | "request";
export interface Found {
  kind: FoundKind;
  id: string;
  href: string;
  summary: string;
}

const ID = /^[A-Za-z0-9._:@+\-]{1,200}$/;

/**
 * Everything an id could name: a claim, a fiscal message, a payment instruction (by PI id or the
 * caller's paymentId), or a request (the request id of upstream calls and audit rows).
 * Each lookup is one indexed read.
 */
export async function findById(db: Db, raw: string): Promise<Found[]> {
  const q = raw.trim();
  if (!ID.test(q)) return [];
  const lower = q.toLowerCase();
  const [claim, msg, pis, call, audit] = await Promise.all([
    db.select({ id: claims.id, status: claims.status, period: claims.period, ashaId: claims.ashaId }).from(claims).where(eq(claims.id, lower)).get(),
    db
      .select({ id: fiscalMessages.id, type: fiscalMessages.type, status: fiscalMessages.status })
      .from(fiscalMessages)
      .where(eq(fiscalMessages.id, q))
      .get(),
    db
      .select({ piId: paymentInstructions.piId, paymentId: paymentInstructions.paymentId, status: paymentInstructions.status })
      .from(paymentInstructions)
      .where(or(eq(paymentInstructions.piId, q), eq(paymentInstructions.paymentId, q)))
      .limit(10)
      .all(),
    db.select({ id: upstreamCalls.id }).from(upstreamCalls).where(eq(upstreamCalls.requestId, q)).limit(1).get(),
    db.select({ id: auditLog.id }).from(auditLog).where(eq(auditLog.requestId, q)).limit(1).get(),
  ]);
  const out: Found[] = [];
  if (claim)
    out.push({
      kind: "claim",
      id: claim.id,
      href: `/console/claims/${claim.id}`,
      summary: `claim ${claim.id}: ${claim.status}, ${claim.ashaId}, ${claim.period}`,
    });
  if (msg)
    out.push({
      kind: "fiscal_message",
      id: msg.id,
      href: `/console/fiscal-messages/${encodeURIComponent(msg.id)}`,
      summary: `fiscal ${msg.type} message ${msg.id}: ${msg.status}`,
    });
  for (const pi of pis) {
    out.push({
      kind: "payment_instruction",
      id: pi.piId,
      href: `/console/payment-instructions/${encodeURIComponent(pi.piId)}`,
      summary: `payment instruction ${pi.piId} (payment ${pi.paymentId}): ${pi.status}`,
    });
  }
  if (call || audit)
    out.push({
      kind: "request",
      id: q,
      href: `/console/requests/${encodeURIComponent(q)}`,
      summary: `request ${q}: its upstream calls and audit rows`,
    });
  return out;
}

export type ClaimRow = typeof claims.$inferSelect;

/** A claim with everything an operator asks about it. */
export async function claimDetail(db: Db, id: string) {
  const claim = await db.select().from(claims).where(eq(claims.id, id.toLowerCase())).get();
  if (!claim) return null;
  const [submission, deliveries, webhooks, audit, dead, calls] = await Promise.all([
    db
      .select({ bodySha256: claimSubmissions.bodySha256, generatedAt: claimSubmissions.generatedAt })
      .from(claimSubmissions)
      .where(eq(claimSubmissions.claimId, claim.id))
      .get(),
    db.select().from(claimDeliveries).where(eq(claimDeliveries.claimId, claim.id)).orderBy(desc(claimDeliveries.id)).limit(SECTION).all(),
    db
      .select({
        id: claimWebhooks.id,
        claimStatus: claimWebhooks.claimStatus,
        state: claimWebhooks.state,
        attempts: claimWebhooks.attempts,
        lastHttpStatus: claimWebhooks.lastHttpStatus,
        lastError: claimWebhooks.lastError,
        createdAt: claimWebhooks.createdAt,
        deliveredAt: claimWebhooks.deliveredAt,
      })
      .from(claimWebhooks)
      .where(eq(claimWebhooks.claimId, claim.id))
      .orderBy(asc(claimWebhooks.createdAt))
      .limit(SECTION)
      .all(),
    auditFor(db, claim.id),
    deadLettersFor(db, claim.id),
    callsFor(db, claim.id),
  ]);
  return { claim, submission: submission ?? null, deliveries, webhooks, audit, deadLetters: dead, calls };
}

/** A fiscal message with the callbacks that answered it (its signed body is never shown: it names people). */
export async function fiscalMessageDetail(db: Db, id: string) {
  const msg = await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, id)).get();
  if (!msg) return null;
  const [callbacks, audit, dead, calls] = await Promise.all([
    db
      .select({
        id: fiscalCallbacks.id,
        senderId: fiscalCallbacks.senderId,
        messageId: fiscalCallbacks.messageId,
        type: fiscalCallbacks.type,
        matchedBy: fiscalCallbacks.matchedBy,
        statusCode: fiscalCallbacks.statusCode,
        statusMessage: fiscalCallbacks.statusMessage,
        receivedAt: fiscalCallbacks.receivedAt,
      })
      .from(fiscalCallbacks)
      .where(eq(fiscalCallbacks.targetMessageId, msg.id))
      .orderBy(asc(fiscalCallbacks.id))
      .limit(SECTION)
      .all(),
    auditFor(db, msg.id),
    deadLettersFor(db, msg.id),
    callsFor(db, msg.id),
  ]);
  const { wireBody: _sealed, ...shown } = msg;
  return { message: shown, callbacks, audit, deadLetters: dead, calls };
}

/** A payment instruction with its log (from its account's Durable Object); beneficiaries never shown. */
export async function paymentInstructionDetail(env: Env, db: Db, piId: string, who: Actor) {
  const row = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, piId)).get();
  if (!row) return null;
  // The view from the PI's account object, within the viewer's tenants; beneficiaries are decrypted
  // for the PI's owner only, so operators see how many there are, never who (CONTRACT §11).
  const [view, audit] = await Promise.all([getPiView(env, db, row.piId, who), auditFor(db, row.piId)]);
  return {
    row: {
      piId: row.piId,
      paymentId: row.paymentId,
      ownerId: row.ownerId,
      tenantId: row.tenantId,
      status: row.status,
      amountPaise: row.amount,
      beneficiaryCount: row.beneficiaryCount,
      messageId: row.messageId,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      headOfAccount: row.headOfAccount,
      ssuCode: row.ssuCode,
    },
    view,
    audit,
  };
}

/** What one request did: every upstream call it made (the transaction log) and every audit row it wrote. */
export async function requestDetail(db: Db, requestId: string) {
  const [calls, audit] = await Promise.all([
    db.select().from(upstreamCalls).where(eq(upstreamCalls.requestId, requestId)).orderBy(asc(upstreamCalls.id)).limit(SECTION).all(),
    db.select().from(auditLog).where(eq(auditLog.requestId, requestId)).orderBy(asc(auditLog.id)).limit(SECTION).all(),
  ]);
  return { calls: calls.map((r) => ({ ...r, requestBody: redactedBody(r.requestBody), responseBody: redactedBody(r.responseBody) })), audit };
}

const auditFor = (db: Db, targetId: string) =>
  db.select().from(auditLog).where(eq(auditLog.targetId, targetId)).orderBy(asc(auditLog.id)).limit(SECTION).all();
const deadLettersFor = (db: Db, subjectId: string) =>
  db
    .select({
      id: deadLetters.id,
      kind: deadLetters.kind,
      reason: deadLetters.reason,
      createdAt: deadLetters.createdAt,
      replayCount: deadLetters.replayCount,
    })
    .from(deadLetters)
    .where(and(eq(deadLetters.subjectId, subjectId)))
    .orderBy(desc(deadLetters.createdAt))
    .limit(SECTION)
    .all();
const callsFor = (db: Db, subjectId: string) =>
  db
    .select({
      id: upstreamCalls.id,
      at: upstreamCalls.at,
      portal: upstreamCalls.portal,
      operation: upstreamCalls.operation,
      outcome: upstreamCalls.outcome,
      httpStatus: upstreamCalls.httpStatus,
      durationMs: upstreamCalls.durationMs,
      requestId: upstreamCalls.requestId,
    })
    .from(upstreamCalls)
    .where(eq(upstreamCalls.subjectId, subjectId))
    .orderBy(desc(upstreamCalls.id))
    .limit(SECTION)
    .all();
