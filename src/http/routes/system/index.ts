import { createRoute, z } from "@hono/zod-openapi";
import type { Router } from "../../router";
import { OPENAPI_INFO } from "../../app";
import { renderReference } from "./reference";

const healthz = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["system"],
  summary: "Liveness: answers without touching any upstream",
  responses: {
    200: {
      description: "The gateway is up",
      content: { "application/json": { schema: z.object({ status: z.literal("ok"), time: z.string() }).openapi("Health") } },
    },
  },
});

export function registerSystemRoutes(app: Router) {
  app.openapi(healthz, (c) => c.json({ status: "ok" as const, time: new Date().toISOString() }, 200));
  app.doc31("/openapi.json", OPENAPI_INFO);
  app.get("/docs", (c) => c.html(renderReference(app.getOpenAPI31Document(OPENAPI_INFO))));
  app.get("/", (c) => c.redirect("/docs"));
}
