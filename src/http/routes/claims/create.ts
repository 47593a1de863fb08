import { createRoute, z } from "@hono/zod-openapi";
import type { Router } from "../../router";

import { requireAuth } from "../../middleware/auth";
import { GatewayError, commonErrorResponses, errorResponse, statusOf } from "../../errors";
import { ownerOf } from "../../context";
import { submitClaims } from "../../../domain/claims/submit";
import { transactionLog } from "../../../storage/upstream-calls";
import { ClaimInputSchema, claimContent, parseClaimItem, toClaimInput, ClaimSchema } from "./schemas";
import { clientSecurity } from "./schemas";

const createClaimRoute = createRoute({
  method: "post",
  path: "/v1/claims",
  tags: ["claims"],
  summary: "Submit a monthly incentive claim (idempotent on claimId)",
  description:
    "202 for a new claim, 200 with the recorded claim for the same claimId and content, 409 IDEMPOTENCY_CONFLICT for other content. " +
    "The optional Idempotency-Key header must equal claimId. One live claim per ASHA per month (409 DUPLICATE_PERIOD_CLAIM).",
  security: clientSecurity,
  middleware: [requireAuth({ scopes: ["claims:write"] })] as const,
  request: {
    headers: z.object({ "idempotency-key": z.string().max(64).optional().openapi({ description: "must equal claimId" }) }),
    body: { required: true, content: { "application/json": { schema: ClaimInputSchema } } },
  },
  responses: {
    200: { description: "The same claim again: the recorded claim", content: claimContent },
    202: { description: "Accepted for delivery (or held until the cut-off)", content: claimContent },
    409: errorResponse("IDEMPOTENCY_CONFLICT or DUPLICATE_PERIOD_CLAIM"),
    422: errorResponse("UNKNOWN_ACTIVITY, AMOUNT_REQUIRED, EMPTY_CLAIM or PERIOD_OPEN"),
    ...commonErrorResponses,
  },
});

const batchRoute = createRoute({
  method: "post",
  path: "/v1/claims/batch",
  tags: ["claims"],
  summary: "Submit up to 500 claims; each with exactly the single-claim semantics",
  security: clientSecurity,
  middleware: [requireAuth({ scopes: ["claims:write"] })] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .strictObject({
              claims: z
                .array(z.unknown().openapi({ description: "a ClaimInput" }))
                .min(1)
                .max(500),
            })
            .openapi("ClaimBatch"),
        },
      },
    },
  },
  responses: {
    200: {
      description: "One result per claim, in order",
      content: {
        "application/json": {
          schema: z
            .object({
              results: z.array(
                z.object({
                  claimId: z.string().nullable(),
                  httpStatus: z.number().int(),
                  claim: ClaimSchema.optional(),
                  error: z.object({ code: z.string(), message: z.string(), details: z.array(z.record(z.string(), z.unknown())) }).optional(),
                }),
              ),
            })
            .openapi("ClaimBatchResult"),
        },
      },
    },
    ...commonErrorResponses,
  },
});

export function registerCreateClaimRoutes(app: Router) {
  app.openapi(createClaimRoute, async (c) => {
    const body = c.req.valid("json");
    const key = c.req.header("idempotency-key");
    if (key !== undefined && key.toLowerCase() !== body.claimId.toLowerCase()) {
      throw new GatewayError("VALIDATION_FAILED", "Idempotency-Key must equal claimId", {
        details: [{ path: "Idempotency-Key", message: "must equal claimId" }],
      });
    }
    const { db, defer } = c.get("services");
    const [outcome] = await submitClaims(
      { env: c.env, db, ownerId: ownerOf(c.get("principal")!), requestId: c.get("requestId"), recorder: transactionLog(db, defer) },
      [toClaimInput(body)],
    );
    if ("error" in outcome) throw outcome.error;
    return c.json(outcome.claim, outcome.httpStatus);
  });

  app.openapi(batchRoute, async (c) => {
    const { claims } = c.req.valid("json");
    const inputs = claims.map(parseClaimItem);
    const { db, defer } = c.get("services");
    const outcomes = await submitClaims(
      { env: c.env, db, ownerId: ownerOf(c.get("principal")!), requestId: c.get("requestId"), recorder: transactionLog(db, defer) },
      inputs,
    );
    const results = outcomes.map((o, i) => {
      const raw = claims[i] as { claimId?: unknown } | null;
      const claimId = o.claimId || (raw && typeof raw === "object" && typeof raw.claimId === "string" ? raw.claimId : null);
      return "error" in o
        ? { claimId, httpStatus: statusOf(o.error), error: { code: o.error.code, message: o.error.message, details: o.error.details } }
        : { claimId, httpStatus: o.httpStatus, claim: o.claim };
    });
    return c.json({ results }, 200);
  });
}
