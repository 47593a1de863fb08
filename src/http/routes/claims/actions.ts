import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Router } from "../../router";

import { requireAuth } from "../../middleware/auth";
import { GatewayError, commonErrorResponses, errorResponse } from "../../errors";
import { claims } from "../../../storage/schema/claims";
import { transition, viewOf } from "../../../domain/claims/ledger";
import { pollClaim } from "../../../domain/claims/delivery";
import { transactionLog } from "../../../storage/upstream-calls";
import { ClaimIdParam, claimContent } from "./schemas";
import { clientSecurity } from "./schemas";
import { visibleClaim } from "./visible";

const writeAuth = requireAuth({ scopes: ["claims:write"] });

const refreshRoute = createRoute({
  method: "post",
  path: "/v1/claims/{claimId}/refresh",
  tags: ["claims"],
  summary: "Poll the portal now and answer the updated claim",
  security: clientSecurity,
  middleware: [writeAuth] as const,
  request: { params: ClaimIdParam },
  responses: {
    200: { description: "The claim after the poll", content: claimContent },
    404: errorResponse("No such claim"),
    409: errorResponse("INVALID_STATE: only PENDING or ACCEPTED claims are polled"),
    502: errorResponse("UPSTREAM_UNAVAILABLE"),
    504: errorResponse("UPSTREAM_TIMEOUT"),
    ...commonErrorResponses,
  },
});

const cancelRoute = createRoute({
  method: "delete",
  path: "/v1/claims/{claimId}",
  tags: ["claims"],
  summary: "Cancel a SCHEDULED claim",
  security: clientSecurity,
  middleware: [writeAuth] as const,
  request: { params: ClaimIdParam },
  responses: {
    200: { description: "The cancelled claim", content: claimContent },
    404: errorResponse("No such claim"),
    409: errorResponse("INVALID_STATE: only SCHEDULED claims can be cancelled"),
    ...commonErrorResponses,
  },
});

const REFRESHABLE = ["PENDING", "ACCEPTED"] as const;

export function registerClaimActionRoutes(app: Router) {
  app.openapi(refreshRoute, async (c) => {
    const { claimId } = c.req.valid("param");
    const db = c.get("services").db;
    const row = await visibleClaim(db, c.get("principal"), claimId);
    if (!(REFRESHABLE as readonly string[]).includes(row.status)) {
      throw new GatewayError("INVALID_STATE", `a ${row.status} claim is not polled`, { details: [{ path: "status", message: row.status }] });
    }
    // Refreshes are paced in the polls' own lane (a tenth of ASSAM_MAX_RPS): they never slow deliveries.
    const r = await pollClaim(c.env, db, row, {
      from: [...REFRESHABLE],
      maxWaitMs: 5_000,
      requestId: c.get("requestId"),
      recorder: transactionLog(db, c.get("services").defer),
    });
    if (r.step === "paced")
      throw new GatewayError("UPSTREAM_UNAVAILABLE", "the portal's pace allows no request now; try again shortly", {
        headers: { "Retry-After": "5" },
      });
    if (r.step === "error" && r.result) {
      if (r.result.kind === "retry" && r.result.reason === "timeout") throw new GatewayError("UPSTREAM_TIMEOUT", "the portal did not answer in time");
      throw new GatewayError("UPSTREAM_UNAVAILABLE", "the portal could not be read now");
    }
    // The row as the poll wrote it (or as read, when the portal's answer changed nothing).
    return c.json(await viewOf(db, r.row ?? row), 200);
  });

  app.openapi(cancelRoute, async (c) => {
    const { claimId } = c.req.valid("param");
    const db = c.get("services").db;
    const row = await visibleClaim(db, c.get("principal"), claimId);
    const invalid = (status: string) =>
      new GatewayError("INVALID_STATE", `a ${status} claim cannot be cancelled`, { details: [{ path: "status", message: status }] });
    if (row.status !== "SCHEDULED") throw invalid(row.status);
    const t = await transition(c.env, db, { row, fromStatus: "SCHEDULED", patch: { status: "CANCELLED" } });
    if (!t.applied) {
      const now = await db.select().from(claims).where(eq(claims.id, row.id)).get();
      throw invalid(now?.status ?? "unknown");
    }
    return c.json(await viewOf(db, t.row), 200);
  });
}
