import { createRoute, z } from "@hono/zod-openapi";
import { desc, lt } from "drizzle-orm";
import { commonErrorResponses } from "../../errors";
import { cursorParam, decodeCursor, encodeCursor, limitParam, listOf } from "../../pagination";
import { alerts } from "../../../storage/schema/alerts";
import { adminOrOps, security, type Router } from "./common";

const AlertView = z
  .object({
    id: z.number().int(),
    at: z.string(),
    kind: z.string(),
    subject: z.string(),
    value: z.number().int(),
    threshold: z.number().int(),
    message: z.string(),
    delivery: z.string(),
    httpStatus: z.number().int().nullable(),
  })
  .openapi("Alert");

const alertsRoute = createRoute({
  method: "get",
  path: "/v1/admin/alerts",
  tags: ["ops"],
  summary: "Alerts raised by the 15-minute check, newest first",
  security,
  middleware: [adminOrOps] as const,
  request: { query: z.strictObject({ limit: limitParam(200, 50), cursor: cursorParam() }) },
  responses: { 200: { description: "Alerts", content: { "application/json": { schema: listOf(AlertView, "AlertList") } } }, ...commonErrorResponses },
});

/** Alerts raised by the 15-minute check (and the console), newest first. */
export function registerAlertRoutes(app: Router) {
  app.openapi(alertsRoute, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const before = decodeCursor(cursor, z.number().int());
    const rows = await c
      .get("services")
      .db.select()
      .from(alerts)
      .where(before !== undefined ? lt(alerts.id, before) : undefined)
      .orderBy(desc(alerts.id))
      .limit(limit + 1)
      .all();
    const items = rows.slice(0, limit);
    return c.json({ items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null }, 200);
  });
}
