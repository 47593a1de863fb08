import { createRoute } from "@hono/zod-openapi";
import type { Router } from "../../router";
import { adminSecurity } from "../../router";
import { requireAuth } from "../../middleware/auth";
import { commonErrorResponses, errorResponse } from "../../errors";
import { actorOf } from "../../context";
import { viewOf } from "../../../domain/claims/ledger";
import { replayFailedClaim } from "../../../domain/claims/replay";
import { ClaimIdParam, claimContent } from "./schemas";

const replayRoute = createRoute({
  method: "post",
  path: "/v1/admin/claims/{claimId}/replay",
  tags: ["admin", "claims"],
  summary: "Send a FAILED claim again with the same bytes (audited)",
  security: adminSecurity,
  middleware: [requireAuth({ adminOnly: true, scopes: ["ops"] })] as const,
  request: { params: ClaimIdParam },
  responses: {
    200: { description: "The claim, QUEUED again", content: claimContent },
    404: errorResponse("No such claim"),
    409: errorResponse("PORTAL_CONFLICT (the portal holds other content under this id), INVALID_STATE (not FAILED) or DUPLICATE_PERIOD_CLAIM"),
    ...commonErrorResponses,
  },
});

export function registerReplayRoute(app: Router) {
  app.openapi(replayRoute, async (c) => {
    const { claimId } = c.req.valid("param");
    const db = c.get("services").db;
    const row = await replayFailedClaim(c.env, db, claimId, actorOf(c.get("principal")), c.get("requestId"));
    return c.json(await viewOf(db, row), 200);
  });
}
