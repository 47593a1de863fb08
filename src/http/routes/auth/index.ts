import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import type { Router } from "../../router";
import type { AppEnv } from "../../context";
import { clients } from "../../../storage/schema/clients";
import { issueCallerToken } from "../../../domain/security/caller-tokens";
import { sha256Hex, timingSafeEqual } from "../../../domain/security/crypto";
import { signingKeys } from "../../middleware/auth";
import { MAX_BODY_BYTES, readLimited } from "../../middleware/body";
import { credentialFailures } from "../../middleware/credential-failures";

const TokenRequest = z
  .object({
    grant_type: z.literal("client_credentials"),
    client_id: z.string().min(1).max(128),
    client_secret: z.string().min(1).max(256),
  })
  .openapi("TokenRequest");

const TokenResponse = z.object({ access_token: z.string(), token_type: z.literal("Bearer"), expires_in: z.number().int() }).openapi("TokenResponse");

const OAuthError = z
  .object({ error: z.enum(["invalid_request", "invalid_client", "unsupported_grant_type"]), error_description: z.string().optional() })
  .openapi("OAuthError");

const route = createRoute({
  method: "post",
  path: "/v1/auth/token",
  tags: ["auth"],
  summary: "OAuth2 client credentials (RFC 6749 §4.4): form or JSON body",
  request: {
    body: {
      required: true,
      content: {
        "application/x-www-form-urlencoded": { schema: TokenRequest },
        "application/json": { schema: TokenRequest },
      },
    },
  },
  responses: {
    200: { description: "A caller token", content: { "application/json": { schema: TokenResponse } } },
    400: { description: "invalid_request or unsupported_grant_type", content: { "application/json": { schema: OAuthError } } },
    401: { description: "invalid_client", content: { "application/json": { schema: OAuthError } } },
  },
});

type OAuthErrorCode = z.infer<typeof OAuthError>["error"];
const oauthError = (c: Context<AppEnv>, status: 400 | 401 | 413 | 415, error: OAuthErrorCode, description: string) => {
  c.header("Cache-Control", "no-store");
  if (status === 401) c.header("WWW-Authenticate", 'Basic realm="amrit-edge-gateway"');
  return c.json({ error, error_description: description }, status);
};

/** Reads the token request itself: every failure on this route is in RFC 6749 shape. */
type Fail = { fail: [400 | 413 | 415, string] };
async function readTokenRequest(c: Context<AppEnv>): Promise<Record<string, string> | Fail> {
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (Number(c.req.header("content-length") ?? 0) > MAX_BODY_BYTES) return { fail: [413, "body too large"] };
  // Read from the stream up to the limit (a chunked body is cut off at 1 MiB, not read whole first);
  // decoded from bytes: workerd warns when .text() reads a form-encoded body.
  const bytes = await readLimited(c.req.raw, MAX_BODY_BYTES);
  if (!bytes) return { fail: [413, "body too large"] };
  const text = new TextDecoder().decode(bytes);
  const out: Record<string, string> = {};
  if (type === "application/x-www-form-urlencoded") {
    for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  } else if (type === "application/json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { fail: [400, "malformed JSON"] };
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return { fail: [400, "expected an object"] };
    for (const [k, v] of Object.entries(parsed)) if (typeof v === "string") out[k] = v;
  } else {
    return { fail: [415, "use application/x-www-form-urlencoded or application/json"] };
  }
  // RFC 6749 §2.3.1: client credentials may also come in HTTP Basic.
  const basic = /^Basic\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (basic) {
    try {
      const [id, secret] = atob(basic[1]).split(":");
      out.client_id ??= decodeURIComponent(id);
      out.client_secret ??= decodeURIComponent(secret ?? "");
    } catch {
      return { fail: [400, "malformed Basic credentials"] };
    }
  }
  return out;
}

export function registerAuthRoutes(app: Router) {
  // Documented from the schemas above, but parsed by hand: every failure here is RFC 6749-shaped,
  // not the generic validation envelope.
  app.openAPIRegistry.registerPath(route);
  app.post(route.path.replace(/{(\w+)}/g, ":$1"), async (c) => {
    const body = await readTokenRequest(c);
    if ("fail" in body && Array.isArray(body.fail)) return oauthError(c, (body as Fail).fail[0], "invalid_request", (body as Fail).fail[1]);
    const form = body as Record<string, string>;
    if (!form.grant_type) return oauthError(c, 400, "invalid_request", "grant_type is required");
    if (form.grant_type !== "client_credentials") return oauthError(c, 400, "unsupported_grant_type", "only client_credentials");
    if (!form.client_id || !form.client_secret) return oauthError(c, 400, "invalid_request", "client_id and client_secret are required");

    const failures = credentialFailures(c, "token");
    failures.refuseIfBlocked();
    const keys = signingKeys(c.env);
    const row = await c
      .get("services")
      .db.select()
      .from(clients)
      .where(eq(clients.id, form.client_id.slice(0, 128)))
      .get();
    const presented = await sha256Hex(form.client_secret);
    // Compare even when the client is unknown, so timing does not reveal which client ids exist.
    const matches = timingSafeEqual(presented, row?.secretHash ?? "0".repeat(64));
    if (!row || row.revokedAt || !matches) {
      await failures.record();
      return oauthError(c, 401, "invalid_client", "unknown client or bad secret");
    }

    const { token, expiresIn } = await issueCallerToken(keys, { clientId: row.id, scopes: row.scopes, generation: row.generation });
    c.header("Cache-Control", "no-store");
    c.header("Pragma", "no-cache");
    return c.json({ access_token: token, token_type: "Bearer" as const, expires_in: expiresIn }, 200);
  });
}
