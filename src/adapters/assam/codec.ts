import { periodBounds, istIso } from "../../domain/claims/periods";
import type { ClaimItem } from "../../storage/schema/claims";
import { paiseToRupees } from "../../lib/money";

/** Seed 000 §3.3 request body. */
export interface WireSubmission {
  submission_id: string;
  partner_code: string;
  period: { start: string; end: string };
  asha_id: string;
  generated_at: string;
  verified_by: { employee_id: string; name: string };
  items: { activity_code: string; count: number; incentive_amount: number }[];
}

export interface SubmissionSource {
  claimId: string;
  ashaId: string;
  period: string;
  verifierEmployeeId: string;
  verifierName: string;
  items: ClaimItem[];
}

/**
 * Builds the wire body once; its bytes are stored and re-sent unchanged. Only items with count > 0
 * (seed §6.2); incentive_amount is the item's total in whole rupees (the portal takes integers).
 */
export function encodeSubmission(c: SubmissionSource, partnerCode: string, generatedAt: number = Date.now()): string {
  const body: WireSubmission = {
    submission_id: c.claimId,
    partner_code: partnerCode,
    period: periodBounds(c.period),
    asha_id: c.ashaId,
    generated_at: istIso(generatedAt),
    verified_by: { employee_id: c.verifierEmployeeId, name: c.verifierName },
    items: c.items.filter((i) => i.count > 0).map((i) => ({ activity_code: i.code, count: i.count, incentive_amount: paiseToRupees(i.amountPaise) })),
  };
  return JSON.stringify(body);
}

export const PORTAL_STATUSES = ["PENDING", "ACCEPTED", "REJECTED"] as const;
export type PortalStatus = (typeof PORTAL_STATUSES)[number];

/** A portal answer (seed §3.5, §4.3), read liberally. */
export interface PortalAnswer {
  status: PortalStatus | null;
  receipt: string | null;
  errors: { code: string; message: string }[];
}

export function decodeAnswer(text: string): PortalAnswer {
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    /* a non-JSON answer carries nothing */
  }
  const status =
    typeof body.status === "string" && (PORTAL_STATUSES as readonly string[]).includes(body.status) ? (body.status as PortalStatus) : null;
  const errors = Array.isArray(body.errors)
    ? body.errors.slice(0, 50).map((e) => {
        const o = (e && typeof e === "object" ? e : {}) as Record<string, unknown>;
        return { code: String(o.code ?? "PORTAL_ERROR").slice(0, 64), message: String(o.message ?? "").slice(0, 500) };
      })
    : [];
  return { status, receipt: typeof body.receipt === "string" ? body.receipt.slice(0, 128) : null, errors };
}
