import type { Router } from "./router";
import { SCOPES, type Scope } from "../domain/security/scopes";

/**
 * The OpenAPI document, tool-grade: OAuth2 client credentials with per-operation scopes (read from
 * each route's `requireAuth`, see router.ts), an operationId on every operation, the response
 * headers every answer carries, examples on the main request bodies and the claim webhook. Built
 * once per isolate (the routes do not change after start-up).
 */
export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "AMRIT edge gateway",
    version: "1.0.0",
    description:
      "One versioned JSON API in front of the Assam ASHA Incentive Portal, UMANG/NDHM and iFIX. Errors use the envelope " +
      '{"error":{"code","message","details","requestId"}}. Money is JSON numbers in rupees with at most two decimals. ' +
      "Every answer carries `X-Request-Id` (the caller's own, when it sent a safe one). Get a token with the OAuth2 " +
      "client-credentials grant at `POST /v1/auth/token`, or send the client's `X-API-Key`.",
  },
  servers: [{ url: "/", description: "This gateway (the origin that served this document)" }],
};

const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  "claims:write": "Submit, refresh and cancel incentive claims",
  "claims:read": "Read own claims and the monthly reports",
  health: "Call the UMANG / NDHM health operations",
  "health:bridge": "Besides health: the operations that act with the gateway's own ABDM identity",
  "fiscal:write": "Send iFIX messages",
  "fiscal:disburse": "Send raw disbursements that no funds account backs (an explicit grant)",
  "fiscal:read": "Read own iFIX messages and their callbacks",
  "funds:write": "Apply allotments, create payment instructions and set their status",
  "funds:read": "Read funds summaries and own payment instructions",
  ops: "Operators: audit, dead letters, transaction log, alerts, claim replay",
};

const CLAIM_EXAMPLE = {
  claimId: "4d0d8f3a-0b9b-4e7e-8b7a-9df4c4b3a6aa",
  ashaId: "AS-ASHA-001234",
  period: "2026-01",
  verifiedBy: { employeeId: "34455", name: "ASHA Supervisor" },
  activities: [
    { code: "HBNC_VISIT", count: 3, amount: 300 },
    { code: "ANC_VISIT", count: 5 },
  ],
  schedule: "now",
};

/** Request-body examples of the main operations ("<method> <path>"); the OpenAPI lint checks each against its schema. */
const REQUEST_EXAMPLES: Record<string, Record<string, { summary: string; value: unknown }>> = {
  "post /v1/claims": { claim: { summary: "A month's claim for one ASHA", value: CLAIM_EXAMPLE } },
  "post /v1/claims/batch": { batch: { summary: "Up to 500 claims, each with the single-claim rules", value: { claims: [CLAIM_EXAMPLE] } } },
  "post /v1/claims/status": { status: { summary: "Poll up to 500 claims", value: { claimIds: [CLAIM_EXAMPLE.claimId] } } },
  "post /v1/funds/allotments": {
    initial: {
      summary: "The initial allotment of a head of account",
      value: {
        txnId: "VA/2026-27/000123",
        tenantId: "pb.jalandhar",
        headOfAccount: "2215-01-102-01-00",
        ssuCode: "SSU001",
        type: "INITIAL_ALLOTMENT",
        amount: 500000,
      },
    },
  },
  "post /v1/payment-instructions": {
    pi: {
      summary: "Pay two beneficiaries from the tenant's funds",
      value: {
        paymentId: "PAY/2026-27/000042",
        tenantId: "pb.jalandhar",
        headOfAccount: "2215-01-102-01-00",
        ssuCode: "SSU001",
        amount: 1500.5,
        beneficiaries: [
          { name: "Asha Devi", accountCode: "1234567890@SBIN0003491", amount: 1000 },
          { name: "Rekha Kumari", accountCode: "9876543210@PUNB0123400", amount: 500.5 },
        ],
      },
    },
  },
  "post /v1/fiscal/{kind}": {
    program: {
      summary: "A program (kind programs)",
      value: {
        name: "NHM ASHA incentives 2026-27",
        locationCode: "pb.jalandhar",
        programCode: "PG/2026-27/000001",
        currencyCode: "INR",
        localeCode: "en_IN",
      },
    },
  },
  "post /v1/admin/clients": {
    amrit: {
      summary: "AMRIT's claims client for one state",
      value: { name: "AMRIT Assam claims", scopes: ["claims:write", "claims:read"], tenants: [] },
    },
  },
  "put /v1/admin/catalogue": {
    catalogue: {
      summary: "The activity rates in force from April 2026",
      value: {
        version: "2026-04",
        effectiveFrom: "2026-04",
        activities: [
          { code: "HBNC_VISIT", name: "Home-based newborn care visit", amount: 100 },
          { code: "ANC_VISIT", name: "Antenatal care visit", amount: 80 },
        ],
      },
    },
  },
  "post /v1/auth/token": {
    credentials: {
      summary: "Client credentials (RFC 6749 §4.4)",
      value: { grant_type: "client_credentials", client_id: "cl_…", client_secret: "…" },
    },
  },
};

/** The claim status-change webhook (Standard Webhooks). The payload is src/domain/claims/ledger.ts `webhookPayload`. */
export const CLAIM_WEBHOOK_PAYLOAD_SCHEMA = {
  type: "object",
  required: ["id", "type", "occurredAt", "data"],
  properties: {
    id: { type: "string", description: "The delivery's id; equals the `webhook-id` header. Deduplicate on it." },
    type: { type: "string", const: "claim.status_changed" },
    occurredAt: { type: "string", format: "date-time" },
    data: {
      type: "object",
      required: ["claimId", "ashaId", "period", "previousStatus", "status", "receipt", "errors", "attempts", "totalAmount", "catalogueVersion"],
      properties: {
        claimId: { type: "string", format: "uuid" },
        ashaId: { type: "string" },
        period: { type: "string", pattern: "^\\d{4}-\\d{2}$" },
        previousStatus: { $ref: "#/components/schemas/ClaimStatus" },
        status: { $ref: "#/components/schemas/ClaimStatus" },
        receipt: { type: ["string", "null"] },
        errors: { type: "array", items: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } } } },
        attempts: { type: "integer" },
        totalAmount: { type: "number", description: "Rupees" },
        catalogueVersion: { type: ["string", "null"] },
      },
    },
  },
} as const;

const CLAIM_STATUSES = ["SCHEDULED", "QUEUED", "PENDING", "ACCEPTED", "REJECTED", "FAILED", "CANCELLED"];

const webhookHeader = (name: string, description: string, example: string) => ({
  name,
  in: "header",
  required: true,
  description,
  schema: { type: "string" },
  example,
});

const claimWebhook = {
  post: {
    operationId: "claimStatusChanged",
    summary: "A claim's status changed (posted to CLAIMS_WEBHOOK_URL)",
    description:
      "Posted at least once per change, retried with backoff, signed as Standard Webhooks (https://www.standardwebhooks.com): " +
      'the signature is `v1,` + base64 HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<raw body>" with the key of ' +
      "`CLAIMS_WEBHOOK_SECRET` (`whsec_<base64>`); during a key rotation several space-separated signatures are sent, any " +
      "one of which verifies. Reject a timestamp more than five minutes from your clock, and deduplicate on `webhook-id`.",
    tags: ["claims"],
    // The receiver checks the signature; no credentials of the receiver's are sent.
    security: [],
    parameters: [
      webhookHeader("webhook-id", "Unique per event; the same on every retry of it", "msg_2f1c6c2e-6d0b-4d4f-9c1e-1a2b3c4d5e6f"),
      webhookHeader("webhook-timestamp", "Unix seconds when this attempt was signed", "1767225600"),
      webhookHeader("webhook-signature", "Space-separated `v1,<base64 signature>` values", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
    ],
    requestBody: {
      required: true,
      content: {
        "application/json": {
          schema: { $ref: "#/components/schemas/ClaimStatusChanged" },
          example: {
            id: "msg_2f1c6c2e-6d0b-4d4f-9c1e-1a2b3c4d5e6f",
            type: "claim.status_changed",
            occurredAt: "2026-02-01T02:00:05.000+05:30",
            data: {
              claimId: CLAIM_EXAMPLE.claimId,
              ashaId: CLAIM_EXAMPLE.ashaId,
              period: CLAIM_EXAMPLE.period,
              previousStatus: "PENDING",
              status: "ACCEPTED",
              receipt: "ASM-2026-01-000123",
              errors: [],
              attempts: 1,
              totalAmount: 700,
              catalogueVersion: "2026-01",
            },
          },
        },
      },
    },
    responses: {
      "200": { description: "Received (any 2xx)" },
      "410": { description: "The receiver gone for good: no more retries of this delivery" },
    },
  },
};

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

/** `post /v1/claims/{claimId}/refresh` → `postClaimsByClaimIdRefresh`: stable, unique per method and path. */
export function deriveOperationId(method: string, path: string): string {
  const words = path
    .split("/")
    .filter((s) => s && s !== "v1")
    .map((s) => {
      const param = /^\{(.+)\}$/.exec(s);
      return param ? `by-${param[1]}` : s;
    })
    .join("-")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return method + words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

// biome-ignore lint/suspicious/noExplicitAny: the generated document is plain JSON, walked by key.
type Json = any;

/** The security schemes and shared headers; registered once when the app is built. */
export function registerOpenApiComponents(app: Router) {
  const registry = app.openAPIRegistry;
  registry.registerComponent("securitySchemes", "oauth2", {
    type: "oauth2",
    description: "A client's id and secret for a 15-minute token (`POST /v1/auth/token`); the token carries the client's scopes.",
    flows: { clientCredentials: { tokenUrl: "/v1/auth/token", scopes: Object.fromEntries(SCOPES.map((s) => [s, SCOPE_DESCRIPTIONS[s]])) } },
  });
  registry.registerComponent("securitySchemes", "apiKey", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "A client's API key: it carries the client's scopes, as its tokens do",
  });
  registry.registerComponent("securitySchemes", "adminKey", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "ADMIN_API_KEY, the operator's key (every /v1/admin route; most others too)",
  });
  registry.registerComponent("headers", "X-Request-Id", {
    description: "The request's id (the caller's own when it sent a safe one); quote it to the operators",
    schema: { type: "string" },
  });
  registry.registerComponent("headers", "Retry-After", {
    description: "Seconds to wait before trying again",
    schema: { type: "integer", minimum: 0 },
  });
}

/** Adds what every operation needs and what the route declarations leave out. Mutates `doc`. */
export function completeDocument(doc: Json): Json {
  const seen = new Set<string>();
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      op.operationId ??= deriveOperationId(method, path);
      if (seen.has(op.operationId)) op.operationId = deriveOperationId(method, path);
      seen.add(op.operationId);
      // A route guarded by requireAuth got its security from it (router.ts); one declared by hand
      // says bearerAuth, which is the oauth2 token; one that declares none takes no credentials.
      op.security = (op.security ?? []).map((r: Json) => ("bearerAuth" in r ? { oauth2: r.bearerAuth } : r));
      for (const [status, response] of Object.entries<Json>(op.responses ?? {})) {
        response.headers = { "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" }, ...response.headers };
        if (status === "429" || status === "503") response.headers["Retry-After"] ??= { $ref: "#/components/headers/Retry-After" };
      }
      const examples = REQUEST_EXAMPLES[`${method} ${path}`];
      if (examples && op.requestBody?.content) {
        for (const media of Object.values<Json>(op.requestBody.content)) {
          if (!media.example && !media.examples) media.examples = examples;
        }
      }
    }
  }
  doc.components ??= {};
  doc.components.schemas ??= {};
  doc.components.schemas.ClaimStatus ??= { type: "string", enum: CLAIM_STATUSES };
  doc.components.schemas.ClaimStatusChanged = CLAIM_WEBHOOK_PAYLOAD_SCHEMA;
  doc.webhooks = { ...doc.webhooks, claimStatusChanged: claimWebhook };
  return doc;
}

const built = new WeakMap<object, { doc: Json; json: string }>();

/** The document of `app`, generated and completed on first use, then kept for the isolate's life. */
export function openApiDocument(app: Router): { doc: Json; json: string } {
  let hit = built.get(app);
  if (!hit) {
    const doc = completeDocument(app.getOpenAPI31Document(OPENAPI_INFO));
    hit = { doc, json: JSON.stringify(doc) };
    built.set(app, hit);
  }
  return hit;
}
