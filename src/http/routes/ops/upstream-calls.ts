import { createRoute, z } from "@hono/zod-openapi";
import { commonErrorResponses } from "../../errors";
import { cursorParam, decodeCursor, encodeCursor, limitParam, listOf } from "../../pagination";
import { TransactionFilter, listTransactions } from "../../../console/ops/transactions";
import { adminOrOps, security, type Router } from "./common";

const TransactionView = z
  .object({
    id: z.number().int(),
    at: z.string(),
    portal: z.string(),
    operation: z.string(),
    subjectId: z.string().nullable(),
    requestId: z.string().nullable(),
    tracker: z.string().nullable(),
    attempt: z.number().int(),
    outcome: z.string(),
    httpStatus: z.number().int().nullable(),
    durationMs: z.number().int(),
    errorCode: z.string().nullable(),
    requestBody: z.string().nullable().openapi({ description: "Redacted; never kept for UMANG" }),
    responseBody: z.string().nullable(),
  })
  .openapi("UpstreamCall");

const txRoute = createRoute({
  method: "get",
  path: "/v1/admin/upstream-calls",
  tags: ["ops"],
  summary: "The transaction log: every call to a portal, newest first, searchable",
  security,
  middleware: [adminOrOps] as const,
  request: {
    query: z.strictObject({
      ...TransactionFilter.shape,
      limit: limitParam(200, 50),
      cursor: cursorParam(),
    }),
  },
  responses: {
    200: { description: "Calls", content: { "application/json": { schema: listOf(TransactionView, "UpstreamCallList") } } },
    ...commonErrorResponses,
  },
});

/** The transaction log, searchable. */
export function registerUpstreamCallRoutes(app: Router) {
  app.openapi(txRoute, async (c) => {
    const { limit, cursor, ...f } = c.req.valid("query");
    const before = decodeCursor(cursor, z.number().int());
    const { items, nextBefore } = await listTransactions(c.get("services").db, f, limit, before);
    return c.json({ items, nextCursor: nextBefore === null ? null : encodeCursor(nextBefore) }, 200);
  });
}
