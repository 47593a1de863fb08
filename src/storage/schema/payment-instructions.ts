import { sql } from "drizzle-orm";
import { sqliteTable, text, integer, index, uniqueIndex } from "drizzle-orm/sqlite-core";

export const PI_STATUSES = ["INITIATED", "APPROVED", "IN_PROCESS", "PARTIAL", "SUCCESSFUL", "COMPLETED", "FAILED"] as const;
/** RESERVED: the paymentId is held while funds are checked; not yet a PI. */
export const PI_ROW_STATUSES = ["RESERVED", ...PI_STATUSES] as const;

/**
 * Payment instructions (D1 side: ownership, query, the projection of the status). The Durable
 * Object of the paying account holds the authoritative status, the committed amount and the log.
 * `live` = 1 unless FAILED: the partial unique index makes "one live PI per paymentId" race-free.
 * Beneficiaries (names, account codes, amounts) are AES-GCM encrypted (DATA_ENCRYPTION_KEY).
 */
export const paymentInstructions = sqliteTable(
  "payment_instructions",
  {
    piId: text("pi_id").primaryKey(),
    paymentId: text("payment_id").notNull(),
    ownerId: text("owner_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    /** As requested (null = the first account with enough funds). */
    requestedHeadOfAccount: text("requested_head_of_account"),
    requestedSsuCode: text("requested_ssu_code"),
    /** The account that pays, once committed. */
    headOfAccount: text("head_of_account"),
    ssuCode: text("ssu_code"),
    amount: integer("amount").notNull(), // paise
    beneficiaryCount: integer("beneficiary_count").notNull(),
    beneficiariesEnc: text("beneficiaries_enc").notNull(),
    status: text("status", { enum: PI_ROW_STATUSES }).notNull(),
    live: integer("live").notNull().default(1),
    /** The Durable Object's seq of the last change copied here (guards out-of-order writes). */
    seq: integer("seq").notNull().default(0),
    messageId: text("message_id").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("payment_instructions_live_payment_idx").on(t.paymentId).where(sql`live = 1`),
    index("payment_instructions_status_idx").on(t.status, t.updatedAt),
    index("payment_instructions_owner_idx").on(t.ownerId, t.createdAt),
    index("payment_instructions_tenant_idx").on(t.tenantId, t.createdAt),
  ],
);
