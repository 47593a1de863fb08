import { createRoute, z } from "@hono/zod-openapi";
import type { Router } from "../../router";
import { adminSecurity } from "../../router";
import { requireAuth } from "../../middleware/auth";
import { GatewayError, commonErrorResponses, errorResponse } from "../../errors";
import { actorOf } from "../../context";
import { rupeesToPaise } from "../../../lib/money";
import { catalogueView, loadCatalogue, putCatalogueVersion, versionInForce } from "../../../domain/claims/catalogue";
import { Period } from "./schemas";
import { clientSecurity } from "./schemas";

const CatalogueInput = z
  .strictObject({
    version: z
      .string()
      .trim()
      .min(1)
      .max(40)
      .regex(/^[\w.-]+$/, "letters, digits and - _ .")
      .openapi({ example: "2026-04" }),
    effectiveFrom: Period,
    activities: z
      .array(
        z.strictObject({
          code: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "an activity code"),
          name: z.string().trim().min(1).max(200),
          amount: z.number().openapi({ type: "integer", description: "per unit, whole rupees" }),
        }),
      )
      .min(1)
      .max(1000)
      .superRefine((items, ctx) => {
        const seen = new Set<string>();
        items.forEach((a, i) => {
          if (seen.has(a.code)) ctx.addIssue({ code: "custom", path: [i, "code"], message: "each activity code once" });
          seen.add(a.code);
          const p = rupeesToPaise(a.amount);
          if (p === null || p % 100 !== 0) ctx.addIssue({ code: "custom", path: [i, "amount"], message: "whole rupees (a non-negative integer)" });
        });
      }),
  })
  .openapi("CatalogueVersionInput");

const CatalogueVersion = z
  .object({
    version: z.string(),
    effectiveFrom: z.string(),
    activities: z.array(z.object({ code: z.string(), name: z.string(), amount: z.number() })),
    createdAt: z.string(),
  })
  .openapi("CatalogueVersion");

const putRoute = createRoute({
  method: "put",
  path: "/v1/admin/catalogue",
  tags: ["admin", "claims"],
  summary: "Store a catalogue version (audited); it applies from effectiveFrom until a later version's",
  security: adminSecurity,
  middleware: [requireAuth({ adminOnly: true })] as const,
  request: { body: { required: true, content: { "application/json": { schema: CatalogueInput } } } },
  responses: {
    200: { description: "This version exists already with the same content", content: { "application/json": { schema: CatalogueVersion } } },
    201: { description: "Stored", content: { "application/json": { schema: CatalogueVersion } } },
    409: errorResponse("CONFLICT: this version exists with other content (versions are immutable)"),
    ...commonErrorResponses,
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/admin/catalogue",
  tags: ["admin", "claims"],
  summary: "Every catalogue version, newest effectiveFrom first",
  security: adminSecurity,
  middleware: [requireAuth({ adminOnly: true, scopes: ["ops"] })] as const,
  responses: {
    200: {
      description: "Versions",
      content: { "application/json": { schema: z.object({ items: z.array(CatalogueVersion), nextCursor: z.null() }) } },
    },
    ...commonErrorResponses,
  },
});

const inForceRoute = createRoute({
  method: "get",
  path: "/v1/claims/catalogue",
  tags: ["claims"],
  summary: "The catalogue version in force for a period (rates per unit, rupees)",
  security: clientSecurity,
  middleware: [requireAuth({ scopes: ["claims:read", "claims:write"] })] as const,
  request: { query: z.strictObject({ period: Period }) },
  responses: {
    200: { description: "The version", content: { "application/json": { schema: CatalogueVersion } } },
    404: errorResponse("No catalogue for that period"),
    ...commonErrorResponses,
  },
});

export function registerCatalogueRoutes(app: Router) {
  app.openapi(putRoute, async (c) => {
    const body = c.req.valid("json");
    const r = await putCatalogueVersion(
      c.get("services").db,
      {
        version: body.version,
        effectiveFrom: body.effectiveFrom,
        activities: body.activities.map((a) => ({ code: a.code, name: a.name, amountPaise: rupeesToPaise(a.amount)! })),
      },
      actorOf(c.get("principal")),
      c.get("requestId"),
    );
    if (r.conflict)
      throw new GatewayError("CONFLICT", `catalogue version ${body.version} exists with other content; versions are immutable, store a new one`);
    return c.json(catalogueView(r.version), r.created ? 201 : 200);
  });

  app.openapi(listRoute, async (c) => c.json({ items: (await loadCatalogue(c.get("services").db)).map(catalogueView), nextCursor: null }, 200));

  app.openapi(inForceRoute, async (c) => {
    const v = versionInForce(await loadCatalogue(c.get("services").db), c.req.valid("query").period);
    if (!v) throw new GatewayError("NOT_FOUND", "no catalogue version applies to that period");
    return c.json(catalogueView(v), 200);
  });
}
