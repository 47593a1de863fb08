import type { PI_STATUSES } from "../../storage/schema/payment-instructions";
import type { ALLOTMENT_TYPES } from "../../storage/schema/funds-allotments";

export type PiStatus = (typeof PI_STATUSES)[number];
export type AllotmentType = (typeof ALLOTMENT_TYPES)[number];

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

export interface PiLogEntry {
  at: string;
  source: "api" | "callback" | "system";
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

export type AllotResult =
  | { ok: true; duplicate: boolean; txnId: string; type: AllotmentType; amount: number; seq: number; balance: Balance; at: string }
  | { ok: false; code: "SANCTION_EXISTS" | "SANCTION_NOT_FOUND" | "INSUFFICIENT_FUNDS" | "TXN_CONFLICT" | "TOTAL_TOO_LARGE"; balance: Balance };

export type CommitResult =
  | { ok: true; duplicate: boolean; pi: PiState; balance: Balance }
  | { ok: false; code: "INSUFFICIENT_FUNDS" | "ABANDONED"; balance: Balance };

export type StatusResult =
  | { ok: true; duplicate: boolean; changed: boolean; from: PiStatus; to: PiStatus; released: boolean; pi: PiState; balance: Balance }
  | { ok: false; code: "NOT_FOUND" }
  | { ok: false; code: "INVALID_STATE"; from: PiStatus; to: PiStatus; pi: PiState };

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
