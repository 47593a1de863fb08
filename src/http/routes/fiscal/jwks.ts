import { createRoute, z } from "@hono/zod-openapi";
import type { Router } from "../../router";
import { errorResponse } from "../../errors";
import { getPublicJwks } from "../../../adapters/ifix/config";

const Jwk = z.object({ kty: z.literal("RSA"), kid: z.string(), use: z.literal("sig"), alg: z.literal("RS256"), n: z.string(), e: z.string() });
const JwkSet = z.object({ keys: z.array(Jwk) }).openapi("JwkSet");

const jwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["ifix callbacks"],
  summary: "The gateway's public iFIX signing keys (JWK set, no credentials)",
  description:
    "The public half of every key in IFIX_SIGNING_KEY (the first signs; the others stay listed during a rotation), with kid (the JWK's own, else its RFC 7638 thumbprint) and alg RS256, so that iFIX fetches the gateway's keys from a URL and a rotation is a deploy.",
  security: [],
  responses: {
    200: { description: "The key set", content: { "application/json": { schema: JwkSet } } },
    503: errorResponse("CONFIG_INVALID: IFIX_SIGNING_KEY missing or malformed"),
  },
});

/** GET /.well-known/jwks.json (CONTRACT v3 §7), cacheable for five minutes. */
export function registerJwksRoute(app: Router) {
  app.openapi(jwksRoute, async (c) => {
    const set = await getPublicJwks(c.env);
    c.header("Cache-Control", "public, max-age=300");
    return c.json(set as z.infer<typeof JwkSet>, 200);
  });
}
