import { z } from "@hono/zod-openapi";
import { paiseToRupees, rupeesToPaise } from "../../lib/money";
import { IFIX_STATUSES, IFIX_TYPES } from "../../storage/schema/fiscal-messages";
import { canonicalize } from "./jcs";

export type IfixType = (typeof IFIX_TYPES)[number];
export type IfixStatus = (typeof IFIX_STATUSES)[number];

/** Route kinds (CONTRACT §7) → iFIX wire types. */
export const KIND_TO_TYPE = {
  programs: "program",
  estimates: "estimate",
  sanctions: "sanction",
  allocations: "allocation",
  disbursements: "disburse",
  demands: "demand",
  receipts: "receipt",
} as const satisfies Record<string, IfixType>;
export type FiscalKind = keyof typeof KIND_TO_TYPE;
export const FISCAL_KINDS = Object.keys(KIND_TO_TYPE) as [FiscalKind, ...FiscalKind[]];

const CODE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;
/** A code (2–64 of letters, digits and . _ : / @ + -), as iFIX and the funds routes take them. */
export const code = (example: string) => z.string().min(2).max(64).regex(CODE, "letters, digits and . _ : / @ + -").openapi({ example });
/** An identifier (1–128 of the same characters). */
export const identifier = (example: string) => z.string().min(1).max(128).regex(CODE, "letters, digits and . _ : / @ + -").openapi({ example });

/** Rupees as a JSON number, > 0, at most two decimals (held as paise inside). */
export const rupees = () =>
  z
    .number()
    .refine((v) => {
      const p = rupeesToPaise(v);
      return p !== null && p > 0;
    }, "an amount in rupees greater than 0 with at most two decimals")
    .openapi({ example: 1000 });

/**
 * iFIX input rules are no stricter than seed 002, which gives one example per type and marks no
 * field as required: an individual's fields are each optional (the example has name, email, phone,
 * pin, address), and children nest to any depth ("children": "[Circular Reference]" in the seed),
 * bounded only by what the signature's JCS can canonicalise and the 1 MiB body. Where the contract
 * asks more, `requiredFieldIssues` says so.
 */
const Individual = z
  .strictObject({
    name: z.string().trim().min(1).max(256).optional(),
    email: z.email().max(256).optional(),
    phone: z.union([z.string().regex(/^\+?\d{6,15}$/, "6 to 15 digits"), z.number().int().min(100_000).max(999_999_999_999_999)]).optional(),
    pin: z.union([z.string().regex(/^\d{6}$/, "6 digits"), z.number().int().min(100000).max(999999)]).optional(),
    address: z.string().trim().min(1).max(512).optional(),
  })
  .openapi("FiscalIndividual");

const Status = z.strictObject({ statusCode: z.enum(IFIX_STATUSES), statusMessage: z.string().max(512).optional() });

const nodeShape = {
  name: z.string().trim().min(1).max(256).optional(),
  linkedId: identifier("sanction:251c51eb-e970-4e01-a99a-70136c47a934").optional(),
  locationCode: code("pb.jalandhar").optional(),
  programCode: code("PORG/2023-24/00001").optional(),
  transactionId: identifier("PI/2023-24/00001").optional(),
  netAmount: rupees().optional(),
  grossAmount: rupees().optional(),
  individual: Individual.optional(),
  status: Status.optional(),
  accountCode: code("1234567890@SBIN0003491").optional(),
  functionCode: code("LIVELIHOOD").optional(),
  administrationCode: code("HUDD").optional(),
  recipientSegmentCode: code("CBO").optional(),
  economicSegmentCode: code("PEOPLE").optional(),
  sourceOfFundCode: code("STATE").optional(),
  targetSegmentCode: code("MALE").optional(),
  currencyCode: code("INR").optional(),
  localeCode: code("LC007").optional(),
  additionalDetails: z.record(z.string(), z.unknown()).optional(),
};

/**
 * What the signature's JCS (RFC 8785, I-JSON) can canonicalize: JSON may carry lone surrogates
 * ("\ud800") and deep nesting (children, additionalDetails) that it refuses. Checked on input, so
 * such a body is a 400 before anything is written or committed, not an error while signing.
 */
export const signable = (value: unknown): boolean => {
  try {
    canonicalize(value);
    return true;
  } catch {
    return false;
  }
};
export const SIGNABLE = "strings must be well-formed Unicode (no lone surrogates) and nesting at most 64 levels";

type NodeShape = { [K in keyof typeof nodeShape]?: z.infer<(typeof nodeShape)[K]> };
export type FiscalNode = NodeShape & { children?: FiscalNode[] };

/** A child: the message's own shape, recursively (the seed's "[Circular Reference]"). */
export const FiscalChild: z.ZodType<FiscalNode> = z
  .lazy(() => z.strictObject({ ...nodeShape, children: z.array(FiscalChild).max(500).optional() }))
  .openapi("FiscalMessageChild");
export const FiscalMessageInput = z
  .strictObject({ ...nodeShape, children: z.array(FiscalChild).max(500).optional() })
  .refine(signable, SIGNABLE)
  .openapi("FiscalMessageInput");
export type FiscalMessageInputT = FiscalNode;

const SNAKE: Record<string, string> = {
  name: "name",
  linkedId: "linked_id",
  locationCode: "location_code",
  programCode: "program_code",
  transactionId: "transaction_id",
  accountCode: "account_code",
  functionCode: "function_code",
  administrationCode: "administration_code",
  recipientSegmentCode: "recipient_segment_code",
  economicSegmentCode: "economic_segment_code",
  sourceOfFundCode: "source_of_fund_code",
  targetSegmentCode: "target_segment_code",
  currencyCode: "currency_code",
  localeCode: "locale_code",
};

/** Amount in rupees (validated) → wire rupees, built from integer paise. */
export const wireRupees = (paise: number) => paiseToRupees(paise);
export const toPaise = (rupeeValue: number): number => {
  const p = rupeesToPaise(rupeeValue);
  if (p === null) throw new RangeError("amount not validated");
  return p;
};

/** Clean camelCase → the seed's snake_case message (amounts from paise, JSON numbers in rupees). */
export function encodeMessage(node: FiscalNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (v === undefined) continue;
    if (k in SNAKE) out[SNAKE[k]] = v;
  }
  if (node.netAmount !== undefined) out.net_amount = wireRupees(toPaise(node.netAmount));
  if (node.grossAmount !== undefined) out.gross_amount = wireRupees(toPaise(node.grossAmount));
  if (node.individual) {
    const i = node.individual;
    out.individual = Object.fromEntries(
      Object.entries({ name: i.name, email: i.email, phone: i.phone, pin: i.pin, address: i.address }).filter(([, v]) => v !== undefined),
    );
  }
  if (node.status)
    out.status = { status_code: node.status.statusCode, ...(node.status.statusMessage ? { status_message: node.status.statusMessage } : {}) };
  if (node.additionalDetails) out.additional_details = node.additionalDetails;
  if (node.children) out.children = node.children.map(encodeMessage);
  return out;
}

export type RuleIssue = {
  path: string;
  message: string;
};

/**
 * Fields a type needs beyond the shape, as 400 details. Seed 002 requires none; the contract needs
 * `locationCode` on every message, for the tenant binding (CONTRACT v3 §4: a fiscal message for a
 * tenant outside the client's list is a 403, so every message must name its tenant). That is the
 * one place the gateway asks more than the seed.
 */
export function requiredFieldIssues(_type: IfixType, m: FiscalMessageInputT): RuleIssue[] {
  return m.locationCode === undefined ? [{ path: "locationCode", message: "required: the tenant the message concerns (CONTRACT v3 §4)" }] : [];
}

/** A disbursement's net and gross equal its children's sums, at every level (422 AMOUNT_MISMATCH). */
export function amountMismatches(node: FiscalNode, path = ""): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const kids = node.children ?? [];
  if (kids.length) {
    for (const field of ["netAmount", "grossAmount"] as const) {
      if (node[field] === undefined) continue;
      let sum = 0;
      let complete = true;
      for (const k of kids) {
        if (k[field] === undefined) complete = false;
        else sum += toPaise(k[field]!);
      }
      if (!complete || !Number.isSafeInteger(sum) || sum !== toPaise(node[field]!)) {
        issues.push({ path: path ? `${path}.${field}` : field, message: `${field} must equal the sum of the children's ${field}` });
      }
    }
    kids.forEach((k, i) => issues.push(...amountMismatches(k, `${path ? `${path}.` : ""}children.${i}`)));
  }
  return issues;
}
