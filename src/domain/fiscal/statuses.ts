import { FISCAL_MESSAGE_STATUSES } from "../../storage/schema/fiscal-messages";

export type MessageStatus = (typeof FISCAL_MESSAGE_STATUSES)[number];

/**
 * A message's status never moves backwards (CONTRACT v3 §7): a callback that would is kept in its
 * history and changes nothing. The order follows a payment's life as IFMS reports it (received,
 * initiated, approved, in process, partial, successful, completed); FAILED, REJECTED, ERROR and
 * COMPLETED are final; a failure cannot follow PARTIAL or SUCCESSFUL (money moved); a program's
 * ACTIVE and INACTIVE may alternate.
 */
const RANK: Record<MessageStatus, number> = {
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
const FINAL = new Set<MessageStatus>(["COMPLETED", "FAILED", "REJECTED", "ERROR"]);
const FAILURE = new Set<MessageStatus>(["FAILED", "REJECTED", "ERROR"]);
const TOGGLE = new Set<MessageStatus>(["APPROVED", "ACTIVE", "INACTIVE"]);

export function canMove(from: MessageStatus, to: MessageStatus): boolean {
  if (from === to || FINAL.has(from)) return false;
  if (FAILURE.has(to)) return RANK[from] <= RANK.INPROCESS;
  if (TOGGLE.has(from) && (to === "ACTIVE" || to === "INACTIVE")) return true;
  return RANK[to] > RANK[from];
}

/** The statuses from which a message may move to `to` (for a guarded UPDATE). */
export const allowedFrom = (to: MessageStatus): MessageStatus[] => FISCAL_MESSAGE_STATUSES.filter((from) => canMove(from, to));
