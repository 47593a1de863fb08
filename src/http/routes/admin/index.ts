import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, lt, gte, lte, type SQL } from "drizzle-orm";
import type { Router } from "../../router";
import { adminSecurity } from "../../router";
import { requireAuth } from "../../middleware/auth";
import { GatewayError, commonErrorResponses, errorResponse } from "../../errors";
import { actorOf } from "../../context";
import { SCOPES } from "../../../domain/security/scopes";
import { createClient, listClients, revokeClient, rotateClient, getClient, updateClient } from "../../../domain/clients";
import { auditLog } from "../../../storage/schema/audit-log";
import { cursorParam, decodeCursor, encodeCursor, limitParam, listOf } from "../../pagination";

const adminOnly = requireAuth({ adminOnly: true });
const adminOrOps = requireAuth({ adminOnly: true, scopes: ["ops"] });

export const TENANT = /^(\*|[A-Za-z0-9][A-Za-z0-9._:/@+-]{1,63})$/;
const Tenants = z
  .array(z.string().regex(TENANT, "a tenant id (iFIX location_code, e.g. pb.jalandhar) or *"))
  .max(500)
  .openapi({
    description: 'Tenant ids whose funds and fiscal messages the client may touch; ["*"] = all; absent or [] = none',
    example: ["pb.jalandhar"],
  });

const Credentials = z
  .object({ clientId: z.string(), clientSecret: z.string(), apiKey: z.string(), scopes: z.array(z.enum(SCOPES)), tenants: z.array(z.string()) })
  .openapi("ClientCredentials");
const ClientView = z
  .object({
    clientId: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    tenants: z.array(z.string()),
    generation: z.number().int(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Client");
const ClientIdParam = z.object({
  clientId: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: "clientId", in: "path" } }),
});

const createClientRoute = createRoute({
  method: "post",
  path: "/v1/admin/clients",
  tags: ["admin"],
  summary: "Create a client; its secret and API key are shown once",
  security: adminSecurity,
  middleware: [adminOnly] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .strictObject({
              name: z.string().trim().min(1).max(120),
              scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
              tenants: Tenants.optional(),
            })
            .openapi("CreateClient"),
        },
      },
    },
  },
  responses: { 201: { description: "Created", content: { "application/json": { schema: Credentials } } }, ...commonErrorResponses },
});

const listClientsRoute = createRoute({
  method: "get",
  path: "/v1/admin/clients",
  tags: ["admin"],
  summary: "List clients (no secrets)",
  security: adminSecurity,
  middleware: [adminOnly] as const,
  responses: {
    200: { description: "Clients", content: { "application/json": { schema: listOf(ClientView, "ClientList") } } },
    ...commonErrorResponses,
  },
});

const rotateRoute = createRoute({
  method: "post",
  path: "/v1/admin/clients/{clientId}/rotate",
  tags: ["admin"],
  summary: "Issue a new secret and API key; old ones and tokens issued with them stop working",
  security: adminSecurity,
  middleware: [adminOnly] as const,
  request: { params: ClientIdParam },
  responses: {
    200: { description: "New credentials", content: { "application/json": { schema: Credentials } } },
    404: errorResponse("No such client (or revoked)"),
    409: errorResponse("CONFLICT: a concurrent rotation of the same client won; rotate again if new credentials are still needed"),
    ...commonErrorResponses,
  },
});

const updateRoute = createRoute({
  method: "patch",
  path: "/v1/admin/clients/{clientId}",
  tags: ["admin"],
  summary: "Change what a client may do (scopes, tenants); takes effect everywhere within 10 seconds",
  security: adminSecurity,
  middleware: [adminOnly] as const,
  request: {
    params: ClientIdParam,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .strictObject({ scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length).optional(), tenants: Tenants.optional() })
            .refine((b) => b.scopes !== undefined || b.tenants !== undefined, "give scopes, tenants or both")
            .openapi("UpdateClient"),
        },
      },
    },
  },
  responses: {
    200: { description: "The client after the change", content: { "application/json": { schema: ClientView } } },
    404: errorResponse("No such client"),
    ...commonErrorResponses,
  },
});

const revokeRoute = createRoute({
  method: "delete",
  path: "/v1/admin/clients/{clientId}",
  tags: ["admin"],
  summary: "Revoke a client: its key and tokens stop working at once",
  security: adminSecurity,
  middleware: [adminOnly] as const,
  request: { params: ClientIdParam },
  responses: {
    200: { description: "Revoked", content: { "application/json": { schema: ClientView } } },
    404: errorResponse("No such client"),
    ...commonErrorResponses,
  },
});

const AuditEntry = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    requestId: z.string().nullable(),
  })
  .openapi("AuditEntry");

const auditRoute = createRoute({
  method: "get",
  path: "/v1/admin/audit",
  tags: ["admin"],
  summary: "The audit log of admin and operator actions, newest first",
  security: adminSecurity,
  middleware: [adminOrOps] as const,
  request: {
    query: z.strictObject({
      action: z.string().max(64).optional(),
      actor: z.string().max(160).optional(),
      targetType: z.string().max(64).optional(),
      targetId: z.string().max(160).optional(),
      from: z.iso.datetime().optional(),
      to: z.iso.datetime().optional(),
      limit: limitParam(500, 100),
      cursor: cursorParam(),
    }),
  },
  responses: {
    200: { description: "Entries", content: { "application/json": { schema: listOf(AuditEntry, "AuditList") } } },
    ...commonErrorResponses,
  },
});

export function registerAdminRoutes(app: Router) {
  app.openapi(createClientRoute, async (c) => {
    const body = c.req.valid("json");
    const creds = await createClient(c.get("services").db, body, actorOf(c.get("principal")), c.get("requestId"));
    c.header("Cache-Control", "no-store");
    return c.json(creds as z.infer<typeof Credentials>, 201);
  });

  app.openapi(listClientsRoute, async (c) => c.json({ items: await listClients(c.get("services").db), nextCursor: null }, 200));

  app.openapi(rotateRoute, async (c) => {
    const { clientId } = c.req.valid("param");
    const r = await rotateClient(c.get("services").db, clientId, actorOf(c.get("principal")), c.get("requestId"));
    if (!r.ok && r.reason === "not_found") throw new GatewayError("NOT_FOUND", "client not found");
    if (!r.ok) throw new GatewayError("CONFLICT", "a concurrent rotation of this client won; its credentials are the current ones");
    c.header("Cache-Control", "no-store");
    return c.json(r.value as z.infer<typeof Credentials>, 200);
  });

  app.openapi(updateRoute, async (c) => {
    const { clientId } = c.req.valid("param");
    const view = await updateClient(c.get("services").db, clientId, c.req.valid("json"), actorOf(c.get("principal")), c.get("requestId"));
    if (!view) throw new GatewayError("NOT_FOUND", "client not found");
    return c.json(view, 200);
  });

  app.openapi(revokeRoute, async (c) => {
    const { clientId } = c.req.valid("param");
    const db = c.get("services").db;
    if (!(await getClient(db, clientId))) throw new GatewayError("NOT_FOUND", "client not found");
    const view = await revokeClient(db, clientId, actorOf(c.get("principal")), c.get("requestId"));
    return c.json(view!, 200);
  });

  app.openapi(auditRoute, async (c) => {
    const q = c.req.valid("query");
    const after = decodeCursor(q.cursor, z.number().int());
    const where: SQL[] = [];
    if (q.action) where.push(eq(auditLog.action, q.action));
    if (q.actor) where.push(eq(auditLog.actor, q.actor));
    if (q.targetType) where.push(eq(auditLog.targetType, q.targetType));
    if (q.targetId) where.push(eq(auditLog.targetId, q.targetId));
    if (q.from) where.push(gte(auditLog.at, q.from));
    if (q.to) where.push(lte(auditLog.at, q.to));
    if (after !== undefined) where.push(lt(auditLog.id, after));
    const rows = await c
      .get("services")
      .db.select()
      .from(auditLog)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(q.limit + 1)
      .all();
    const page = rows.slice(0, q.limit);
    return c.json({ items: page, nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1].id) : null }, 200);
  });
}
