import type { Hono } from "hono";
import { z } from "zod";
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import { auditLog } from "../../storage/schema/audit-log";
import { decodeCursor, encodeCursor } from "../../http/pagination";
import { AuditPage } from "../pages/audit";
import { pick } from "../form";
import { page } from "../render";
import type { ConsoleEnv } from "../session";

const PAGE = 50;

export function registerAudit(app: Hono<ConsoleEnv>) {
  app.get("/audit", async (c) => {
    const q = pick(c.req.query(), ["action", "actor", "targetType", "targetId", "before"]);
    const where: SQL[] = [];
    if (q.action) where.push(eq(auditLog.action, q.action.slice(0, 64)));
    if (q.actor) where.push(eq(auditLog.actor, q.actor.slice(0, 160)));
    if (q.targetType) where.push(eq(auditLog.targetType, q.targetType.slice(0, 64)));
    if (q.targetId) where.push(eq(auditLog.targetId, q.targetId.slice(0, 160)));
    if (q.before) where.push(lt(auditLog.id, decodeCursor(q.before, z.number().int())!));
    const rows = await c
      .get("services")
      .db.select()
      .from(auditLog)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(PAGE + 1)
      .all();
    const items = rows.slice(0, PAGE);
    return page(
      c,
      "Audit log",
      "/console/audit",
      <AuditPage q={q} items={items} next={rows.length > PAGE ? encodeCursor(items[items.length - 1].id) : null} />,
    );
  });
}
