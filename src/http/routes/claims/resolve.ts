import { createRoute, z } from "@hono/zod-openapi";
import type { Router } from "../../router";
import { adminSecurity } from "../../router";
import { requireAuth } from "../../middleware/auth";
import { commonErrorResponses, errorResponse } from "../../errors";
import { actorOf } from "../../context";
import { viewOf } from "../../../domain/claims/ledger";
import { RESOLUTIONS, resolveClaim } from "../../../domain/claims/resolve";
import { ClaimIdParam, claimContent } from "./schemas";

const ResolveInput = z
  .strictObject({
    resolution: z.enum(RESOLUTIONS).openapi({
      description:
        "not_recorded: the portal does not have it (the claim stays FAILED and frees its month); recorded: the portal has it (the claim becomes PENDING and is polled)",
    }),
    reason: z
      .string()
      .trim()
      .min(3)
      .max(500)
      .openapi({ description: "why (kept in the audit log)", example: "State portal team confirmed no submission with this id (ticket 1234)" }),
  })
  .openapi("ClaimResolution");

const resolveRoute = createRoute({
  method: "post",
  path: "/v1/admin/claims/{claimId}/resolve",
  tags: ["admin", "claims"],
  summary: "Settle a claim that FAILED after ambiguous attempts and still holds its month (audited)",
  description:
    "A claim whose delivery gave up after timeouts, dropped connections or 5xx may have been recorded by the portal, so it keeps its ASHA's month " +
    "(a second claim for that month answers 409 DUPLICATE_PERIOD_CLAIM) until the portal's status settles it or an operator resolves it here.",
  security: adminSecurity,
  middleware: [requireAuth({ adminOnly: true, scopes: ["ops"] })] as const,
  request: { params: ClaimIdParam, body: { required: true, content: { "application/json": { schema: ResolveInput } } } },
  responses: {
    200: { description: "The claim after the resolution", content: claimContent },
    404: errorResponse("No such claim"),
    409: errorResponse("INVALID_STATE: the claim is not FAILED, or holds no month"),
    ...commonErrorResponses,
  },
});

export function registerResolveRoute(app: Router) {
  app.openapi(resolveRoute, async (c) => {
    const { claimId } = c.req.valid("param");
    const db = c.get("services").db;
    const row = await resolveClaim(c.env, db, claimId, c.req.valid("json"), actorOf(c.get("principal")), c.get("requestId"));
    return c.json(await viewOf(db, row), 200);
  });
}
