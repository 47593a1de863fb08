import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import type { Router } from "../../router";

import { requireAuth, canSee } from "../../middleware/auth";
import { commonErrorResponses, errorResponse } from "../../errors";
import { claims, CLAIM_STATUSES } from "../../../storage/schema/claims";
import { claimsByIds, toView, viewsOf } from "../../../domain/claims/ledger";
import { cursorParam, decodeCursor, encodeCursor, limitParam, listOf } from "../../pagination";
import { ClaimIdParam, ClaimSchema, claimContent, Period } from "./schemas";
import { clientSecurity } from "./schemas";
import { visibleClaimWithDeliveries } from "./visible";

const readAuth = requireAuth({ scopes: ["claims:read"] });

const getRoute = createRoute({
  method: "get",
  path: "/v1/claims/{claimId}",
  tags: ["claims"],
  summary: "A claim with its delivery history",
  security: clientSecurity,
  middleware: [readAuth] as const,
  request: { params: ClaimIdParam },
  responses: {
    200: { description: "The claim", content: claimContent },
    404: errorResponse("No such claim (or another client's)"),
    ...commonErrorResponses,
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/claims",
  tags: ["claims"],
  summary: "The caller's claims, newest first",
  security: clientSecurity,
  middleware: [readAuth] as const,
  request: {
    query: z.strictObject({
      period: Period.optional(),
      status: z.enum(CLAIM_STATUSES).optional(),
      ashaId: z.string().max(64).optional(),
      limit: limitParam(200, 50),
      cursor: cursorParam(),
    }),
  },
  responses: {
    200: { description: "Claims", content: { "application/json": { schema: listOf(ClaimSchema, "ClaimList") } } },
    ...commonErrorResponses,
  },
});

const statusRoute = createRoute({
  method: "post",
  path: "/v1/claims/status",
  tags: ["claims"],
  summary: "Bulk polling: up to 500 claims by id",
  security: clientSecurity,
  middleware: [readAuth] as const,
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.strictObject({ claimIds: z.array(z.uuid()).min(1).max(500) }).openapi("ClaimStatusRequest") } },
    },
  },
  responses: {
    200: {
      description: "The claims found (in request order) and the ids not found",
      content: {
        "application/json": { schema: z.object({ items: z.array(ClaimSchema), notFound: z.array(z.string()) }).openapi("ClaimStatusResult") },
      },
    },
    ...commonErrorResponses,
  },
});

export function registerReadClaimRoutes(app: Router) {
  app.openapi(statusRoute, async (c) => {
    const ids = [...new Set(c.req.valid("json").claimIds.map((i) => i.toLowerCase()))];
    const db = c.get("services").db;
    const rows = await claimsByIds(db, ids);
    const principal = c.get("principal");
    const visible = ids.map((id) => rows.get(id)).filter((r): r is NonNullable<typeof r> => !!r && canSee(principal, r.ownerId));
    const seen = new Set(visible.map((r) => r.id));
    return c.json({ items: await viewsOf(db, visible), notFound: ids.filter((id) => !seen.has(id)) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { claimId } = c.req.valid("param");
    const db = c.get("services").db;
    const { row, deliveries } = await visibleClaimWithDeliveries(db, c.get("principal"), claimId);
    return c.json(toView(row, deliveries), 200);
  });

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid("query");
    const db = c.get("services").db;
    const principal = c.get("principal")!;
    const after = decodeCursor(q.cursor, z.tuple([z.string(), z.string()]));
    const where: SQL[] = [];
    if (principal.kind !== "admin") where.push(eq(claims.ownerId, principal.id));
    if (q.period) where.push(eq(claims.period, q.period));
    if (q.status) where.push(eq(claims.status, q.status));
    if (q.ashaId) where.push(eq(claims.ashaId, q.ashaId));
    if (after) where.push(or(lt(claims.createdAt, after[0]), and(eq(claims.createdAt, after[0]), lt(claims.id, after[1])))!);
    const rows = await db
      .select()
      .from(claims)
      .where(and(...where))
      .orderBy(desc(claims.createdAt), desc(claims.id))
      .limit(q.limit + 1)
      .all();
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return c.json({ items: await viewsOf(db, page), nextCursor: rows.length > q.limit ? encodeCursor([last.createdAt, last.id]) : null }, 200);
  });
}
