import { z } from "@hono/zod-openapi";
import { isValidAadhaar, normalizeAadhaar } from "./verhoeff";

/** Clean (caller-side) vocabulary of the health routes, with ABDM's enums. */

export const AUTH_METHODS = ["MOBILE_OTP", "AADHAAR_OTP", "DEMOGRAPHICS", "DIRECT"] as const;
export const HI_TYPES = [
  "OPConsultation",
  "Prescription",
  "DischargeSummary",
  "DiagnosticReport",
  "ImmunizationRecord",
  "HealthDocumentRecord",
  "WellnessRecord",
] as const;
/** Consent purposes (ABDM) with the text the portal shows for each. */
export const PURPOSES = {
  CAREMGT: "Care Management",
  BTG: "Break the Glass",
  PUBHLTH: "Public Health",
  HPAYMT: "Healthcare Payment",
  DSRCH: "Disease Specific Healthcare Research",
  PATRQT: "Self Requested",
} as const;
export const PURPOSE_CODES = Object.keys(PURPOSES) as [keyof typeof PURPOSES, ...(keyof typeof PURPOSES)[]];
export const CATEGORIES = ["LINK", "DATA"] as const;
export const REQUEST_STATUSES = ["REQUESTED", "GRANTED", "DENIED", "REVOKED", "EXPIRED"] as const;
export const REQUEST_FILTERS = ["ALL", ...REQUEST_STATUSES] as const;
export const AUTH_PURPOSES = ["LINK", "KYC", "KYC_AND_LINK", "CM_ACCESS"] as const;
export const REQUESTER_TYPES = ["HIP", "HIU", "HEALTH_LOCKER", "PHR"] as const;
export const SERVICE_TYPES = ["HIP", "HIU", "HEALTH_LOCKER"] as const;
export const IDENTIFIER_TYPES = ["MOBILE", "MR", "NDHM_HEALTH_NUMBER", "HEALTH_ID"] as const;

const ABHA_NUMBER = /^(\d{2})-?(\d{4})-?(\d{4})-?(\d{4})$/;
const PHR_ADDRESS = /^[A-Za-z0-9][A-Za-z0-9._-]{2,63}@[A-Za-z0-9]{2,32}$/;

/** An ABHA number (14 digits, hyphens optional, sent hyphenated as in the seed) or a PHR address (name@sbx). */
export const HealthId = z
  .string()
  .trim()
  .refine((v) => ABHA_NUMBER.test(v) || PHR_ADDRESS.test(v), "an ABHA number (14 digits) or a PHR address (name@domain)")
  .transform((v) => {
    const m = ABHA_NUMBER.exec(v);
    return m ? `${m[1]}-${m[2]}-${m[3]}-${m[4]}` : v;
  })
  .openapi({ example: "41-1661-3480-0127" });

export const PhrAddress = z.string().trim().regex(PHR_ADDRESS, "a PHR address (name@domain)").openapi({ example: "shahnawaz123@sbx" });

/** Ids minted by UMANG/ABDM or by the caller for idempotency: UUID-shaped. */
export const Uuid = z.guid().openapi({ example: "3fa85f64-5717-4562-b3fc-2c963f66afa6" });
export const Otp = z
  .string()
  .regex(/^\d{4,8}$/, "4 to 8 digits")
  .openapi({ example: "123456" });
export const Pin = z
  .string()
  .regex(/^\d{4}$/, "4 digits")
  .openapi({ example: "4821" });
export const Password = z.string().min(1).max(128);
export const Code = (example: string, max = 64) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9._:@-]+$/, "letters, digits and . _ : @ -")
    .openapi({ example });
export const Name = z.string().trim().min(1).max(200);
export const IsoDateTime = z.iso.datetime({ offset: true, local: false }).openapi({ example: "2026-01-01T00:00:00Z" });

/** 12 digits (spaces or hyphens between groups allowed) with a valid Verhoeff checksum; never echoed. */
export const Aadhaar = z
  .string()
  .transform(normalizeAadhaar)
  .refine(isValidAadhaar, "not a valid Aadhaar number (12 digits with a Verhoeff checksum)")
  .openapi({ example: "499612345671", description: "Aadhaar number; checked (Verhoeff) before it leaves the gateway; never logged" });

export const Period = z
  .strictObject({ from: IsoDateTime, to: IsoDateTime })
  .refine((p) => Date.parse(p.from) <= Date.parse(p.to), { message: "from must not be after to", path: ["to"] })
  .openapi("HealthPeriod");

export const Purpose = z
  .strictObject({ code: z.enum(PURPOSE_CODES), text: z.string().max(200).optional(), refUri: z.string().max(500).optional() })
  .openapi("HealthPurpose");

export const Hip = z.strictObject({ id: Code("IN3410000238"), name: Name.optional() }).openapi("HealthHip");

/** A data source of a subscription (hiTypes, purpose, HIP, categories, period). */
export const Source = z
  .strictObject({
    hiTypes: z.array(z.enum(HI_TYPES)).min(1).max(HI_TYPES.length),
    purpose: Purpose,
    hip: Hip.optional(),
    categories: z.array(z.enum(CATEGORIES)).min(1).max(2).optional(),
    period: Period.optional(),
  })
  .openapi("HealthSource");

/** The sources of an approval: all HIPs or named ones, included and excluded. */
export const SourcesApproval = z.strictObject({
  isApplicableForAllHips: z.boolean(),
  includedSources: z.array(Source).max(50).default([]),
  excludedSources: z.array(Source).max(50).default([]),
});

/**
 * A locker's auto-approval (approveLockerRequests). Seed 001's example, a Swagger sample that lists
 * every field, gives its sources no `categories`, and its excluded sources no `period` either.
 */
export const AutoApproval = z
  .strictObject({
    isApplicableForAllHips: z.boolean(),
    hiu: z.strictObject({ id: Code("driefcasehl"), name: Name.optional() }),
    includedSources: z
      .array(Source.omit({ categories: true }).openapi("HealthAutoApprovalSource"))
      .max(50)
      .default([]),
    excludedSources: z
      .array(Source.omit({ categories: true, period: true }).openapi("HealthAutoApprovalExcludedSource"))
      .max(50)
      .default([]),
  })
  .openapi("HealthAutoApproval");

/**
 * A page size passed through to UMANG, which answers pages of at most 100 (the seed asks for 105 and
 * 198 and is answered 100): larger values are not the caller's mistake, so they are not refused.
 */
export const Limit = (def: number, max = 1_000) => z.coerce.number().int().min(1).max(max).default(def);
export const Offset = z.coerce.number().int().min(0).max(1_000_000).default(0);

// ---- wire helpers: clean → the seed's shapes -------------------------------------------------

export const wirePurpose = (p: z.output<typeof Purpose>) => ({
  code: p.code,
  text: p.text ?? PURPOSES[p.code],
  ...(p.refUri !== undefined ? { refUri: p.refUri } : {}),
});

export const wirePeriod = (p: z.output<typeof Period>) => ({ from: new Date(p.from).toISOString(), to: new Date(p.to).toISOString() });

export const wireSource = (s: z.output<typeof Source>) => ({
  hiTypes: s.hiTypes,
  purpose: wirePurpose(s.purpose),
  ...(s.hip ? { hip: { id: s.hip.id, ...(s.hip.name !== undefined ? { name: s.hip.name } : {}) } } : {}),
  ...(s.categories ? { categories: s.categories } : {}),
  ...(s.period ? { period: wirePeriod(s.period) } : {}),
});

/** `isApplicableForAllHIPs` travels as the string "true"/"false" in the seed. */
export const wireSources = (a: z.output<typeof SourcesApproval>) => ({
  isApplicableForAllHIPs: String(a.isApplicableForAllHips),
  includedSources: a.includedSources.map(wireSource),
  excludedSources: a.excludedSources.map(wireSource),
});
