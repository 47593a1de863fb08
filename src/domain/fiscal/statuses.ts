import { FISCAL_MESSAGE_STATUSES } from "../../storage/schema/fiscal-messages";

export type MessageStatus = (typeof FISCAL_MESSAGE_STATUSES)[number];

/**
 * A message's status never moves backwards (CONTRACT v3 §7): a callback that would is kept in its
 * history and changes nothing. The order follows each kind's life: a disbursement as IFMS reports a
 * payment (received, initiated, approved, in process, partial, successful, completed); the others as
 * a decision (received, in process, approved / active). FAILED, REJECTED, ERROR and COMPLETED are
 * final; a failure cannot follow PARTIAL or SUCCESSFUL (money moved); ACTIVE and INACTIVE (a
 * program's) may alternate.
 */
const PAYMENT: Record<MessageStatus, number> = {
  QUEUED: 0,
  RECEIVED: 1,
  INITIATED: 2,
  APPROVED: 3,
  ACTIVE: 3,
  INACTIVE: 3,
  INPROCESS: 4,
  PARTIAL: 5,
  SUCCESSFUL: 6,
  COMPLETED: 7,
  FAILED: 7,
  REJECTED: 7,
  ERROR: 7,
};
const DECISION: Record<MessageStatus, number> = { ...PAYMENT, INPROCESS: 3, APPROVED: 4, ACTIVE: 4, INACTIVE: 4 };
const FINAL = new Set<MessageStatus>(["COMPLETED", "FAILED", "REJECTED", "ERROR"]);
const FAILURE = new Set<MessageStatus>(["FAILED", "REJECTED", "ERROR"]);
const TOGGLE = new Set<MessageStatus>(["APPROVED", "ACTIVE", "INACTIVE"]);

export function canMove(from: MessageStatus, to: MessageStatus, type: string): boolean {
  const rank = type === "disburse" ? PAYMENT : DECISION;
  if (from === to || FINAL.has(from)) return false;
  if (FAILURE.has(to)) return rank[from] < rank.PARTIAL;
  if (TOGGLE.has(from) && (to === "ACTIVE" || to === "INACTIVE")) return true;
  return rank[to] > rank[from];
}

/** The statuses from which a message of `type` may move to `to` (for a guarded UPDATE). */
export const allowedFrom = (to: MessageStatus, type: string): MessageStatus[] => FISCAL_MESSAGE_STATUSES.filter((from) => canMove(from, to, type));
