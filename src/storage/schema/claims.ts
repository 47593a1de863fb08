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
 *
 * Who holds an ASHA's month is one column, `holds_month`, under a partial unique index: a claim holds
 * it from its insert until it is REJECTED, CANCELLED, or FAILED in a way the portal cannot have
 * recorded (a definite refusal, or the portal's status says it does not know it). A claim that FAILED
 * after ambiguous attempts (`maybe_recorded`: a timeout, a dropped connection, a 5xx) keeps holding
 * it until the portal's status settles it or an operator resolves it.
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
    /** Epoch ms: when a PENDING claim is next polled (the interval grows with the polls made). */
    nextPollAt: integer("next_poll_at"),
    /** The last poll's outcome: a poll is written to claim_deliveries only when it differs (or the status changes). */
    lastPollOutcome: text("last_poll_outcome"),
    /** 1 while this claim holds its ASHA's month (see above). */
    holdsMonth: integer("holds_month", { mode: "boolean" }).notNull().default(true),
    /** 1 once an attempt ended so that the portal may have recorded the claim (timeout, dropped connection, 5xx). */
    maybeRecorded: integer("maybe_recorded", { mode: "boolean" }).notNull().default(false),
    /** When the retention sweep removed the verifier's name, the portal's texts and the wire body. */
    purgedAt: text("purged_at"),
    requestId: text("request_id"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    // One claim per ASHA per month: the one that holds it (a corrected resubmission takes it over).
    uniqueIndex("claims_asha_period_holder_uq").on(t.ashaId, t.period).where(sql`holds_month = 1`),
    index("claims_owner_created_idx").on(t.ownerId, t.createdAt, t.id),
    index("claims_status_period_idx").on(t.status, t.period, t.id),
    index("claims_status_lease_idx").on(t.status, t.leaseUntil),
    index("claims_status_next_poll_idx").on(t.status, t.nextPollAt),
    index("claims_purge_idx").on(t.purgedAt, t.updatedAt),
    index("claims_period_owner_status_idx").on(t.period, t.ownerId, t.status),
  ],
);
