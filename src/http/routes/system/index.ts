import { createRoute, z } from "@hono/zod-openapi";
import type { Router } from "../../router";
import { openApiDocument } from "../../openapi";
import { referencePage, REFERENCE_CSP } from "./reference-page";

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
  // Generated once per isolate, on first request: every route is registered by then.
  app.get("/openapi.json", (c) => c.body(openApiDocument(app).json, 200, { "Content-Type": "application/json; charset=UTF-8" }));
  app.get("/docs", (c) => c.html(referencePage(openApiDocument(app).doc.info.title), 200, { "Content-Security-Policy": REFERENCE_CSP }));
  // On Cloudflare the static-asset layer answers these before the Worker runs; this route serves the
  // same files where it does not (tests, `vitest`'s exports.default.fetch).
  app.get("/docs/assets/*", async (c) => {
    if (!c.env.ASSETS) return c.notFound();
    const res = await c.env.ASSETS.fetch(new Request(new URL(c.req.path, c.req.url)));
    return res.status === 200 ? new Response(res.body, res) : c.notFound();
  });
  app.get("/", (c) => c.redirect("/docs"));
}
