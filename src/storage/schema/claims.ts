import { sql } from "drizzle-orm";
import { sqliteTable, text, integer, index, uniqueIndex } from "drizzle-orm/sqlite-core";

export const CLAIM_STATUSES = ["SCHEDULED", "QUEUED", "PENDING", "ACCEPTED", "REJECTED", "FAILED", "CANCELLED"] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];

/** One stored activity line: counts > 0 only, amount in paise (whole rupees on the wire). */
export interface ClaimItem {
  code: string;
  count: number;
  amountPaise: number;
}

/**
 * The claims ledger (CONTRACT §5). The row is also the delivery outbox and lease: `dispatch_id` names
 * the queue message currently allowed to deliver it, `lease_owner`/`lease_until` who holds it and
 * until when. A QUEUED claim whose `lease_until` has passed is re-queued by the sweep, so a crash
 * between the ledger write and the enqueue (or inside a consumer) loses nothing.
 */
export const claims = sqliteTable(
  "claims",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id").notNull(),
    ashaId: text("asha_id").notNull(),
    period: text("period").notNull(),
    status: text("status", { enum: CLAIM_STATUSES }).notNull(),
    schedule: text("schedule", { enum: ["now", "cutoff"] }).notNull(),
    verifierEmployeeId: text("verifier_employee_id").notNull(),
    verifierName: text("verifier_name").notNull(),
    items: text("items", { mode: "json" }).$type<ClaimItem[]>().notNull(),
    /** SHA-256 of the canonical content (CONTRACT §5 "same content"). */
    contentHash: text("content_hash").notNull(),
    totalPaise: integer("total_paise").notNull(),
    catalogueVersion: text("catalogue_version"),
    receipt: text("receipt"),
    errors: text("errors", { mode: "json" }).$type<{ code: string; message: string }[]>().notNull(),
    /** Why a FAILED claim failed: PORTAL_CONFLICT (never overwritten, never replayed) or DELIVERY_FAILED. */
    failureCode: text("failure_code"),
    attempts: integer("attempts").notNull().default(0),
    /** Attempts since the last (re)queue by an operator; DELIVERY_MAX_ATTEMPTS applies to these. */
    cycleAttempts: integer("cycle_attempts").notNull().default(0),
    dispatchId: text("dispatch_id"),
    leaseOwner: text("lease_owner"),
    /** Epoch ms. For QUEUED claims: the moment by which a consumer must have acted, else the sweep re-queues. */
    leaseUntil: integer("lease_until"),
    nextAttemptAt: integer("next_attempt_at"),
    polls: integer("polls").notNull().default(0),
    lastPolledAt: integer("last_polled_at"),
    requestId: text("request_id"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    // One live claim per ASHA per month; REJECTED, FAILED and CANCELLED ones make room for a corrected one.
    uniqueIndex("claims_asha_period_live_uq")
      .on(t.ashaId, t.period)
      .where(sql`status NOT IN ('REJECTED', 'FAILED', 'CANCELLED')`),
    index("claims_owner_created_idx").on(t.ownerId, t.createdAt, t.id),
    index("claims_status_period_idx").on(t.status, t.period, t.id),
    index("claims_status_lease_idx").on(t.status, t.leaseUntil),
    index("claims_status_polled_idx").on(t.status, t.lastPolledAt),
    index("claims_period_owner_status_idx").on(t.period, t.ownerId, t.status),
  ],
);
