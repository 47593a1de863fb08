import type { PI_STATUSES } from "../../storage/schema/payment-instructions";
import type { ALLOTMENT_TYPES } from "../../storage/schema/funds-allotments";

export type PiStatus = (typeof PI_STATUSES)[number];
export type AllotmentType = (typeof ALLOTMENT_TYPES)[number];

/** One funds account: tenant + head of account + SSU (CONTRACT §7). */
export interface AccountKey {
  tenantId: string;
  headOfAccount: string;
  ssuCode: string;
}

/** Balances in paise. available = allotted − withdrawn − committed (never below zero). */
export interface Balance {
  sanctioned: boolean;
  allotted: number;
  withdrawn: number;
  committed: number;
  available: number;
  /** Monotonic: bumped by every change of this account. */
  seq: number;
}

/** Who moves a PI: a client's status call, the admin key, an iFIX callback, or the gateway itself. */
export type PiSource = "api" | "admin" | "callback" | "system";

export interface PiLogEntry {
  at: string;
  source: PiSource;
  from: PiStatus | null;
  to: PiStatus;
  accepted: boolean;
  reason: string | null;
  released: boolean;
}

export interface PiState {
  piId: string;
  paymentId: string;
  amount: number;
  status: PiStatus;
  released: boolean;
  updatedSeq: number;
  createdAt: string;
  updatedAt: string;
}

/** A PI as its account's object holds it (the truth; D1 holds a projection). */
export interface PiRecord extends PiState {
  ownerId: string | null;
  tenantId: string | null;
  headOfAccount: string | null;
  ssuCode: string | null;
  messageId: string | null;
  beneficiaryCount: number | null;
  programCode: string | null;
  /** iFIX acknowledged the disburse (a 2xx, its duplicate answer, or any callback). */
  acked: boolean;
  /** The last iFIX status a callback reported for the disburse. */
  ifixStatus: string | null;
  /** Status calls received in all (the log keeps only the newest). */
  eventCount: number;
}

export interface DeliveryState {
  messageId: string;
  state: "pending" | "leased" | "delivered" | "rejected" | "failed" | "cancelled";
  attempts: number;
  lastError: string | null;
  lastHttpStatus: number | null;
  deliveredAt: string | null;
}

export type AllotResult =
  | { ok: true; duplicate: boolean; txnId: string; type: AllotmentType; amount: number; seq: number; balance: Balance; before: Balance; at: string }
  | {
      ok: false;
      code: "SANCTION_EXISTS" | "SANCTION_NOT_FOUND" | "INSUFFICIENT_FUNDS" | "TXN_CONFLICT" | "TXN_FOREIGN" | "TOTAL_TOO_LARGE";
      balance: Balance;
    };

export type CommitResult =
  | { ok: true; duplicate: boolean; pi: PiState; balance: Balance }
  | { ok: false; code: "INSUFFICIENT_FUNDS" | "ABANDONED"; balance: Balance };

export type StatusResult =
  | { ok: true; duplicate: boolean; changed: boolean; from: PiStatus; to: PiStatus; released: boolean; pi: PiState; balance: Balance }
  | { ok: false; code: "NOT_FOUND" }
  | { ok: false; code: "INVALID_STATE"; from: PiStatus; to: PiStatus; pi: PiState; why: string }
  | { ok: false; code: "REASON_REQUIRED"; from: PiStatus; to: PiStatus; pi: PiState };

/** FAILED, SUCCESSFUL and COMPLETED end a PI's life (SUCCESSFUL may still become COMPLETED). */
export const FINAL_PI_STATUSES: readonly PiStatus[] = ["SUCCESSFUL", "COMPLETED", "FAILED"];

/**
 * Allowed PI moves. FAILED and COMPLETED are final; money paid out (PARTIAL, SUCCESSFUL) cannot be
 * FAILED back into the account. The same status again is accepted and changes nothing.
 */
export const PI_TRANSITIONS: Record<PiStatus, readonly PiStatus[]> = {
  INITIATED: ["APPROVED", "IN_PROCESS", "PARTIAL", "SUCCESSFUL", "COMPLETED", "FAILED"],
  APPROVED: ["IN_PROCESS", "PARTIAL", "SUCCESSFUL", "COMPLETED", "FAILED"],
  IN_PROCESS: ["PARTIAL", "SUCCESSFUL", "COMPLETED", "FAILED"],
  PARTIAL: ["SUCCESSFUL", "COMPLETED"],
  SUCCESSFUL: ["COMPLETED"],
  COMPLETED: [],
  FAILED: [],
};

/** iFIX status (on-disburse) → PI status; null = no PI change (e.g. RECEIVED, ACTIVE). */
export function piStatusFromIfix(status: string): PiStatus | null {
  switch (status) {
    case "INPROCESS":
      return "IN_PROCESS";
    case "REJECTED":
    case "ERROR":
    case "FAILED":
      return "FAILED";
    case "INITIATED":
    case "APPROVED":
    case "PARTIAL":
    case "SUCCESSFUL":
    case "COMPLETED":
      return status;
    default:
      return null;
  }
}
