import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import type { ClaimStatus } from "../../storage/schema/claims";
import type { DeliveryOutcome } from "../../storage/schema/claim-deliveries";
import { pollMany, type PortalResult } from "../../adapters/assam/client";
import type { UpstreamCallRecorder } from "../../adapters/recorder";
import { createLogger } from "../../lib/logger";
import { holdsMonth, transition, type ClaimRow } from "./ledger";

/** A PENDING claim is polled this long after its last poll at first; the interval doubles every POLLS_PER_STEP polls. */
export const POLL_INTERVAL_MS = 10 * 60_000;
const POLLS_PER_STEP = 6;
/** …up to this: a claim the portal has not decided after a day or two is read four times a day. */
export const MAX_POLL_INTERVAL_MS = 6 * 60 * 60_000;

/** When a PENDING claim polled `polls` times is next due. */
export const nextPollAt = (polls: number, now: number): number =>
  now + Math.min(MAX_POLL_INTERVAL_MS, POLL_INTERVAL_MS * 2 ** Math.min(10, Math.floor(polls / POLLS_PER_STEP)));

export const pollOutcome = (s: ClaimStatus): DeliveryOutcome => (s === "ACCEPTED" ? "accepted" : s === "REJECTED" ? "rejected" : "pending");

/**
 * What the portal's status read says about a claim whose delivery may or may not have reached it:
 * - it answers with a status: the portal has the claim; the claim takes that status;
 * - it answers 404: the portal does not know it (a definite answer): the month is free;
 * - anything else settles nothing.
 */
export type Settlement =
  | {
      kind: "recorded";
      status: ClaimStatus;
      receipt: string | null;
      errors: { code: string; message: string }[];
      httpStatus: number;
      durationMs: number;
    }
  | { kind: "unknown_at_portal"; durationMs: number }
  | { kind: "unsettled" };

export function settlementOf(result: PortalResult | undefined): Settlement {
  if (result?.kind === "ok") {
    const status = result.answer.status ?? "PENDING";
    return {
      kind: "recorded",
      status,
      receipt: result.answer.receipt,
      errors: status === "REJECTED" ? result.answer.errors : [],
      httpStatus: result.httpStatus,
      durationMs: result.durationMs,
    };
  }
  if (result?.kind === "not_found") return { kind: "unknown_at_portal", durationMs: result.durationMs };
  return { kind: "unsettled" };
}

export const NOT_AT_PORTAL = {
  code: "NOT_AT_PORTAL",
  message: "the portal's status says it does not know this submission: the month is free for a corrected claim",
};

/** The change a settlement makes to a FAILED claim that holds its month (null: none). */
export function settlementPatch(row: ClaimRow, s: Settlement, now: number): Partial<ClaimRow> | null {
  if (s.kind === "recorded") {
    return {
      status: s.status,
      receipt: s.receipt ?? row.receipt,
      errors: s.errors,
      failureCode: null,
      holdsMonth: holdsMonth(s.status, true),
      maybeRecorded: true,
      lastPolledAt: now,
      nextPollAt: s.status === "PENDING" ? nextPollAt(0, now) : null,
    };
  }
  if (s.kind === "unknown_at_portal") return { holdsMonth: false, maybeRecorded: false, errors: [...row.errors, NOT_AT_PORTAL], lastPolledAt: now };
  return null;
}

/**
 * Asks the portal about FAILED claims that hold their month because it may have recorded them (a new
 * claim for the month has just arrived), and records what it says. Answers each claim as it is now
 * (unchanged when the portal could not be read).
 */
export async function settleByStatus(
  env: Env,
  db: Db,
  rows: ClaimRow[],
  o: { recorder: UpstreamCallRecorder; requestId?: string },
): Promise<ClaimRow[]> {
  let results: PortalResult[];
  try {
    results = await pollMany(
      env,
      rows.map((r) => ({ claimId: r.id, attempt: r.polls + 1, requestId: o.requestId })),
      { recorder: o.recorder, maxWaitMs: 2_000 },
    );
  } catch {
    // The portal is not configured here: nothing can be settled.
    return rows;
  }
  const out: ClaimRow[] = [];
  for (const [k, row] of rows.entries()) {
    const s = settlementOf(results[k]);
    const now = Date.now();
    const patch = settlementPatch(row, s, now);
    if (!patch) {
      out.push(row);
      continue;
    }
    try {
      const t = await transition(env, db, {
        row,
        fromStatus: "FAILED",
        patch: { ...patch, polls: row.polls + 1 },
        delivery: {
          operation: "poll",
          attempt: row.polls + 1,
          outcome: s.kind === "recorded" ? pollOutcome(s.status) : "failed",
          httpStatus: s.kind === "recorded" ? s.httpStatus : 404,
          durationMs: s.kind === "unsettled" ? 0 : s.durationMs,
          errorCode: s.kind === "unknown_at_portal" ? "NOT_AT_PORTAL" : null,
        },
      });
      out.push(t.row);
    } catch (err) {
      createLogger({ claimId: row.id }).warn("settling a FAILED claim by its portal status failed", {
        kind: err instanceof Error ? err.name : typeof err,
      });
      out.push(row);
    }
  }
  return out;
}
