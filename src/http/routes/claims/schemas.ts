import { z } from "@hono/zod-openapi";
import { CLAIM_STATUSES } from "../../../storage/schema/claims";
import { DELIVERY_OUTCOMES } from "../../../storage/schema/claim-deliveries";
import { rupeesToPaise } from "../../../lib/money";
import { PERIOD_RE } from "../../../domain/claims/periods";
import { zodDetails } from "../../router";
import { GatewayError } from "../../errors";
import type { ClaimInput } from "../../../domain/claims/submit";

export const Period = z.string().regex(PERIOD_RE, "a month as YYYY-MM").openapi({ example: "2026-01" });

/** Whole rupees as a JSON number (the portal takes integers); returns paise. */
const WholeRupees = z
  .number()
  .transform((v, ctx) => {
    const paise = rupeesToPaise(v);
    if (paise === null || paise % 100 !== 0) {
      ctx.addIssue({ code: "custom", message: "an amount in whole rupees (a non-negative integer)" });
      return z.NEVER;
    }
    return paise;
  })
  .openapi({ type: "integer", example: 300 });

export const ClaimInputSchema = z
  .strictObject({
    claimId: z.uuid().openapi({ example: "4d0d8f3a-0b9b-4e7e-8b7a-9df4c4b3a6aa" }),
    ashaId: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[\w./-]+$/, "letters, digits and - _ . /")
      .openapi({ example: "AS-ASHA-001234" }),
    period: Period,
    verifiedBy: z.strictObject({
      employeeId: z.string().trim().min(1).max(64).openapi({ example: "34455" }),
      name: z.string().trim().min(1).max(200).openapi({ example: "ASHA Supervisor" }),
    }),
    activities: z
      .array(
        z.strictObject({
          code: z
            .string()
            .regex(/^[A-Za-z0-9_.-]{1,64}$/, "an activity code")
            .openapi({ example: "HBNC_VISIT" }),
          count: z.number().int().min(0).max(100_000),
          amount: WholeRupees.optional().openapi({ description: "the item's total in whole rupees; absent: the catalogue's rate × count" }),
        }),
      )
      .max(200)
      .superRefine((items, ctx) => {
        const seen = new Set<string>();
        items.forEach((a, i) => {
          if (seen.has(a.code)) ctx.addIssue({ code: "custom", path: [i, "code"], message: "each activity code once" });
          seen.add(a.code);
        });
      }),
    schedule: z.enum(["now", "cutoff"]).default("now"),
  })
  .openapi("ClaimInput");

export function toClaimInput(b: z.infer<typeof ClaimInputSchema>): ClaimInput {
  return {
    claimId: b.claimId.toLowerCase(),
    ashaId: b.ashaId,
    period: b.period,
    verifiedBy: b.verifiedBy,
    activities: b.activities.map((a) => ({ code: a.code, count: a.count, amountPaise: a.amount })),
    schedule: b.schedule,
  };
}

/** Parses one claim of a batch with the single-claim rules: a bad one becomes its own 400. */
export function parseClaimItem(raw: unknown): ClaimInput | GatewayError {
  const r = ClaimInputSchema.safeParse(raw);
  if (!r.success) return new GatewayError("VALIDATION_FAILED", "the claim is not valid", { details: zodDetails(r.error.issues) });
  return toClaimInput(r.data);
}

export const ClaimSchema = z
  .object({
    claimId: z.string(),
    ashaId: z.string(),
    period: z.string(),
    status: z.enum(CLAIM_STATUSES),
    receipt: z.string().nullable(),
    errors: z.array(z.object({ code: z.string(), message: z.string() })),
    attempts: z.number().int(),
    deliveries: z.array(
      z.object({
        at: z.string(),
        attempt: z.number().int(),
        outcome: z.enum(DELIVERY_OUTCOMES),
        httpStatus: z.number().int().nullable(),
        durationMs: z.number().int(),
        errorCode: z.string().nullable(),
      }),
    ),
    totalAmount: z.number().openapi({ description: "rupees" }),
    catalogueVersion: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Claim");

export const ClaimIdParam = z.object({ claimId: z.uuid().openapi({ param: { name: "claimId", in: "path" } }) });

export const claimContent = { "application/json": { schema: ClaimSchema } };

/** Caller security for OpenAPI (a Bearer token or the client's X-API-Key), typed for createRoute. */
export const clientSecurity: Record<string, string[]>[] = [{ bearerAuth: [] }, { apiKey: [] }];
