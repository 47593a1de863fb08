import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

export const PI_STATUSES = ["INITIATED", "APPROVED", "IN_PROCESS", "PARTIAL", "SUCCESSFUL", "COMPLETED", "FAILED"] as const;
/** RESERVED: the paymentId is held while funds are checked; not yet a PI. */
export const PI_ROW_STATUSES = ["RESERVED", ...PI_STATUSES] as const;

/**
 * Payment instructions: a projection of the paying account's Durable Object (which holds the PI,
 * its log, its committed amount and its disburse), written by that object, seq-guarded, for lists
 * and reconciliation. Nothing decides on it: paymentId uniqueness is the FundsRegistry object's
 * (so there is no unique index here: projections of two accounts may land in any order).
 * `beneficiaries_enc` is "held-by-account" for such PIs (their beneficiaries are sealed in the
 * object); PIs made before hold them here, AES-GCM encrypted (DATA_ENCRYPTION_KEY).
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
    /** The program code the PI's disburse carries (the instruction's, else its account's initial allotment's). */
    programCode: text("program_code"),
    /** PIs made before the FundsRegistry: when the sweep registered their paymentId there (null: not yet). */
    registryAt: text("registry_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("payment_instructions_payment_idx").on(t.paymentId),
    index("payment_instructions_status_idx").on(t.status, t.updatedAt),
    index("payment_instructions_owner_idx").on(t.ownerId, t.createdAt),
    index("payment_instructions_tenant_idx").on(t.tenantId, t.createdAt),
  ],
);
