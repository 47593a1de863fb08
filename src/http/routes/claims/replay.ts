import { createRoute } from "@hono/zod-openapi";
import { and, eq, ne, notInArray } from "drizzle-orm";
import type { Router } from "../../router";
import { adminSecurity } from "../../router";
import { requireAuth } from "../../middleware/auth";
import { ApiError, commonErrorResponses, errorResponse } from "../../errors";
import { actorOf } from "../../context";
import { claims } from "../../../storage/schema/claims";
import { auditInsert } from "../../../storage/audit";
import { ENQUEUE_GRACE_MS, transition, viewOf } from "../../../domain/claims/ledger";
import { deliverMessage } from "../../../domain/claims/messages";
import { enqueue, LIVE_EXCLUDED } from "../../../domain/claims/submit";
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
    const row = await db.select().from(claims).where(eq(claims.id, claimId.toLowerCase())).get();
    if (!row) throw new ApiError("NOT_FOUND", "claim not found");
    if (row.status !== "FAILED") throw new ApiError("INVALID_STATE", `a ${row.status} claim is not replayed; only FAILED ones`);
    if (row.failureCode === "PORTAL_CONFLICT") {
      throw new ApiError("PORTAL_CONFLICT", "the portal holds a different payload under this submission_id; replaying the same bytes cannot succeed");
    }
    // Its month may have a corrected resubmission by now: replaying would make two live claims.
    const live = await db
      .select({ id: claims.id })
      .from(claims)
      .where(and(eq(claims.ashaId, row.ashaId), eq(claims.period, row.period), ne(claims.id, row.id), notInArray(claims.status, [...LIVE_EXCLUDED])))
      .get();
    if (live) throw new ApiError("DUPLICATE_PERIOD_CLAIM", "another live claim exists for this ASHA and month", { details: [{ path: "period", claimId: live.id }] });
    const dispatchId = crypto.randomUUID();
    const actor = actorOf(c.get("principal"));
    let t;
    try {
      t = await transition(c.env, db, {
        row,
        fromStatus: "FAILED",
        patch: { status: "QUEUED", errors: [], failureCode: null, cycleAttempts: 0, dispatchId, leaseOwner: null, leaseUntil: Date.now() + ENQUEUE_GRACE_MS, nextAttemptAt: null },
        extra: [
          auditInsert(db, {
            actor,
            action: "claim.replay",
            targetType: "claim",
            targetId: row.id,
            before: { status: row.status, failureCode: row.failureCode, attempts: row.attempts, errors: row.errors },
            after: { status: "QUEUED" },
            requestId: c.get("requestId"),
          }),
        ],
      });
    } catch {
      throw new ApiError("DUPLICATE_PERIOD_CLAIM", "another live claim exists for this ASHA and month");
    }
    if (!t.applied) throw new ApiError("INVALID_STATE", "the claim changed meanwhile; read it again");
    await enqueue(c.env, [deliverMessage(row.id, dispatchId)]);
    return c.json(await viewOf(db, t.row), 200);
  });
}
