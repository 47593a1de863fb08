import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, lt, or, sql, type SQL } from "drizzle-orm";
import type { Router } from "../../router";
import { callerSecurity as anyCaller } from "../../router";

const callerSecurity = anyCaller as unknown as Array<Record<string, string[]>>;
import { requireAuth, canSee, requireTenant } from "../../middleware/auth";
import { GatewayError, commonErrorResponses, errorResponse } from "../../errors";
import { ownerOf } from "../../context";
import {
  FISCAL_KINDS,
  FiscalMessageInput,
  KIND_TO_TYPE,
  amountMismatches,
  encodeMessage,
  requiredFieldIssues,
  type FiscalKind,
  type FiscalMessageInputT,
  type FiscalNode,
  type IfixType,
} from "../../../adapters/ifix/codec";
import { FISCAL_DELIVERY_STATUSES, FISCAL_MESSAGE_STATUSES, IFIX_TYPES, fiscalMessages } from "../../../storage/schema/fiscal-messages";
import { sha256Hex } from "../../../domain/security/crypto";
import { canonicalize } from "../../../adapters/ifix/jcs";
import { enqueueDelivery, getMessageView, messageSummary, prepareMessage } from "../../../domain/fiscal/messages";
import { receiveCallback } from "../../../domain/fiscal/callbacks";
import { getIfixConfig, getSigningKey } from "../../../adapters/ifix/config";
import type { Context } from "hono";
import { cursorParam, decodeCursor, encodeCursor, limitParam, listOf } from "../../pagination";
import type { AppEnv, Principal } from "../../context";
import { registerJwksRoute } from "./jwks";
import type { Db } from "../../../storage/db";
import { ALL_TENANTS } from "../../../domain/security/scopes";

const KindParam = z.object({ kind: z.enum(FISCAL_KINDS).openapi({ param: { name: "kind", in: "path" }, example: "programs" }) });
const MessageIdParam = z
  .string()
  .min(1)
  .max(128)
  .openapi({ param: { name: "messageId", in: "path" } });

/** The optional Idempotency-Key of a send: printable ASCII, 1 to 128 characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
const IdempotencyHeaders = z.object({
  "idempotency-key": z.string().optional().openapi({
    description:
      "Makes a resend safe (a caller that got no answer sends again with the same key): per client, the same key with the same request answers 200 with the message it made, other content 409 IDEMPOTENCY_CONFLICT. Printable ASCII, 1 to 128 characters.",
  }),
});

const Accepted = z.object({ messageId: z.string(), status: z.enum(FISCAL_MESSAGE_STATUSES) }).openapi("FiscalAccepted");
const MessageView = z
  .object({
    messageId: z.string(),
    type: z.enum(IFIX_TYPES),
    action: z.enum(["create", "update"]),
    parentMessageId: z.string().nullable(),
    transactionId: z.string().nullable(),
    linkedId: z.string().nullable(),
    piId: z.string().nullable(),
    locationCode: z.string().nullable(),
    status: z.enum(FISCAL_MESSAGE_STATUSES),
    statusMessage: z.string().nullable(),
    deliveryStatus: z.enum(FISCAL_DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastHttpStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    deliveredAt: z.string().nullable(),
    callbacks: z.array(
      z.object({
        messageId: z.string(),
        senderId: z.string(),
        type: z.string(),
        action: z.string().nullable(),
        messageTs: z.number().int().nullable(),
        status: z.string().nullable(),
        statusMessage: z.string().nullable(),
        matchedBy: z.string().nullable(),
        receivedAt: z.string(),
      }),
    ),
  })
  .openapi("FiscalMessage");

const sendRoute = createRoute({
  method: "post",
  path: "/v1/fiscal/{kind}",
  tags: ["fiscal"],
  summary: "Send a signed iFIX message (programs, estimates, sanctions, allocations, disbursements, demands, receipts)",
  description:
    "Builds the iFIX header (message_id, message_ts, action create, sender/receiver, sender_uri = ${IFIX_CALLBACK_URL}/on-<type>), signs JCS(header)+JCS(message) with RSASSA-PKCS1-v1_5 SHA-256, and posts it to ${IFIX_BASE_URL}/ifix/v1/<type> through the delivery queue; every re-send keeps the message_id and carries a fresh message_ts and signature. `disbursements` move money that no funds account backs: they need scope fiscal:disburse besides fiscal:write. locationCode is required (the tenant, CONTRACT v3 §4).",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["fiscal:write"] })] as const,
  request: {
    params: KindParam,
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: FiscalMessageInput } } },
  },
  responses: {
    202: { description: "Queued for delivery", content: { "application/json": { schema: Accepted } } },
    200: {
      description: "A resend with the same Idempotency-Key and request: the message it made",
      content: { "application/json": { schema: Accepted } },
    },
    409: errorResponse("IDEMPOTENCY_CONFLICT: the Idempotency-Key was used with a different request"),
    422: errorResponse("AMOUNT_MISMATCH: a disbursement's net or gross differs from its children's sum"),
    ...commonErrorResponses,
    403: errorResponse("FORBIDDEN: no scope fiscal:write (fiscal:disburse for disbursements), or locationCode is outside the client's tenants"),
  },
});

const updateRoute = createRoute({
  method: "patch",
  path: "/v1/fiscal/{kind}/{messageId}",
  tags: ["fiscal"],
  summary: "Send an update (action update) of a message sent before",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["fiscal:write"] })] as const,
  request: {
    params: KindParam.extend({ messageId: MessageIdParam }),
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: FiscalMessageInput } } },
  },
  responses: {
    202: { description: "Queued for delivery", content: { "application/json": { schema: Accepted } } },
    200: {
      description: "A resend with the same Idempotency-Key and request: the update it made",
      content: { "application/json": { schema: Accepted } },
    },
    404: errorResponse("No such message of this kind (or not yours)"),
    409: errorResponse(
      "INVALID_STATE: the message is a payment instruction's disburse (a PI changes only through the funds routes); IDEMPOTENCY_CONFLICT: the Idempotency-Key was used with a different request",
    ),
    422: errorResponse("AMOUNT_MISMATCH"),
    ...commonErrorResponses,
    403: errorResponse("FORBIDDEN: scope or tenant (as for POST)"),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/fiscal/messages/{messageId}",
  tags: ["fiscal"],
  summary: "A message's status and every callback received for it",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["fiscal:read"] })] as const,
  request: { params: z.object({ messageId: MessageIdParam }) },
  responses: {
    200: { description: "The message", content: { "application/json": { schema: MessageView } } },
    404: errorResponse("No such message (or not yours)"),
    ...commonErrorResponses,
  },
});

const MessageSummary = MessageView.omit({ callbacks: true }).openapi("FiscalMessageSummary");
const listRoute = createRoute({
  method: "get",
  path: "/v1/fiscal/messages",
  tags: ["fiscal"],
  summary: "List fiscal messages, newest first (own; every client's with scope ops or the admin key)",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["fiscal:read", "ops"] })] as const,
  request: {
    query: z.strictObject({
      type: z.enum(IFIX_TYPES).optional(),
      status: z.enum(FISCAL_MESSAGE_STATUSES).optional(),
      deliveryStatus: z.enum(FISCAL_DELIVERY_STATUSES).optional(),
      limit: limitParam(200, 50),
      cursor: cursorParam(),
    }),
  },
  responses: {
    200: { description: "Messages", content: { "application/json": { schema: listOf(MessageSummary, "FiscalMessageList") } } },
    ...commonErrorResponses,
  },
});

const CallbackBody = z
  .looseObject({ signature: z.unknown().optional(), header: z.unknown().optional(), message: z.unknown().optional() })
  .openapi("IfixCallback", { description: "The seed's envelope: {signature, header, message}, snake_case as iFIX sends it." });
const CallbackAnswer = z
  .object({ acknowledged: z.literal(true), messageId: z.string(), matchedMessageId: z.string().nullable(), status: z.string().nullable() })
  .openapi("IfixCallbackAnswer");

const callbackRoute = (type: IfixType) =>
  createRoute({
    method: "post",
    path: `/ifix/v1/on-${type}`,
    tags: ["ifix callbacks"],
    summary: `iFIX on-${type} callback (signed; no caller token)`,
    description:
      "Checked in order: signature against IFIX_TRUSTED_KEYS[header.sender_id] (401 BAD_SIGNATURE), de-duplication on sender_id + message_id + content (with IFIX_SIGNATURE_SCOPE=message, on sender_id + content alone; 200 with the first answer), freshness of message_ts (±5 min, else 401 STALE_MESSAGE). The status updates the message it answers among those sent to this sender (by message_id, else transaction_id, else linked_id), never backwards.",
    security: [],
    request: { body: { required: true, content: { "application/json": { schema: CallbackBody } } } },
    responses: {
      200: { description: "Recorded (or recognised as a duplicate)", content: { "application/json": { schema: CallbackAnswer } } },
      400: commonErrorResponses[400],
      401: errorResponse("BAD_SIGNATURE or STALE_MESSAGE"),
      413: commonErrorResponses[413],
      415: commonErrorResponses[415],
      500: commonErrorResponses[500],
      503: commonErrorResponses[503],
    },
  });

/** 400 for fields a type needs, 422 AMOUNT_MISMATCH for a disbursement's sums. */
function checkRules(type: IfixType, body: FiscalMessageInputT) {
  const missing = requiredFieldIssues(type, body);
  if (missing.length) throw new GatewayError("VALIDATION_FAILED", "the request is not valid", { details: missing });
  if (type === "disburse") {
    const mismatches = amountMismatches(body as FiscalNode);
    if (mismatches.length)
      throw new GatewayError("AMOUNT_MISMATCH", "net and gross amounts must equal the sums of the children", { details: mismatches });
  }
}

/** Raw disbursements move money that no funds account backs: an explicit grant (CONTRACT v3 §4). */
function requireDisburseScope(p: Principal, type: IfixType) {
  if (type === "disburse" && p.kind === "client" && !p.scopes.includes("fiscal:disburse")) {
    throw new GatewayError("FORBIDDEN", "disbursements also need scope fiscal:disburse");
  }
}

function idempotencyKeyOf(c: Context<AppEnv>): string | null {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(key))
    throw new GatewayError("VALIDATION_FAILED", "the request is not valid", {
      details: [{ path: "Idempotency-Key", message: "printable ASCII, 1 to 128 characters" }],
    });
  return key;
}

/**
 * Signs nothing and sends nothing itself: writes the message and its outbox row in one D1 batch, then
 * hands it to delivery. With an Idempotency-Key, the client's unique index decides: the first request
 * writes the message; a request whose key is taken writes nothing and answers the message that key
 * made (200) when it asked for the same thing (type, action, the message it updates, the message's
 * JCS), else 409 IDEMPOTENCY_CONFLICT. Resends race safely: only one insert can win the key.
 */
async function send(
  c: Context<AppEnv>,
  type: IfixType,
  action: "create" | "update",
  body: FiscalMessageInputT,
  parentId: string | null,
): Promise<{ answer: { messageId: string; status: (typeof FISCAL_MESSAGE_STATUSES)[number] }; created: boolean }> {
  getIfixConfig(c.env); // 503 CONFIG_INVALID before anything is written
  await getSigningKey(c.env); // every send signs: a key that cannot is found now, not at delivery
  const key = idempotencyKeyOf(c);
  const db = c.get("services").db;
  const ownerId = ownerOf(c.get("principal")!);
  const message = encodeMessage(body as FiscalNode);
  const idempotency = key === null ? null : { key, requestHash: await sha256Hex(canonicalize({ type, action, parentId, message })) };
  const prepared = await prepareMessage(c.env, db, { ownerId, type, action, message, parentId, idempotency });
  const [inserted] = await db.batch(prepared.inserts);
  if (inserted.length === 0) return { answer: await answerForTakenKey(db, ownerId, idempotency), created: false };
  await enqueueDelivery(c.env, db, prepared.messageId, 0, 0, c.get("requestId"));
  return { answer: { messageId: prepared.messageId, status: "QUEUED" }, created: true };
}

/**
 * The answer to a send whose insert did nothing: only a taken Idempotency-Key stops it (the message id
 * is new). The same request gets the message the key made; another, 409. Without the key's row (or
 * without a key), D1 is not answering as it should: 503, try again.
 */
async function answerForTakenKey(db: Db, ownerId: string, idempotency: { key: string; requestHash: string } | null) {
  const first = idempotency
    ? await db
        .select({ id: fiscalMessages.id, status: fiscalMessages.status, requestHash: fiscalMessages.requestHash })
        .from(fiscalMessages)
        .where(and(eq(fiscalMessages.ownerId, ownerId), eq(fiscalMessages.idempotencyKey, idempotency.key)))
        .get()
    : undefined;
  if (!idempotency || !first)
    throw new GatewayError("UNAVAILABLE", "the message could not be recorded; try again", { headers: { "Retry-After": "1" } });
  if (first.requestHash !== idempotency.requestHash)
    throw new GatewayError("IDEMPOTENCY_CONFLICT", "this Idempotency-Key was used with a different request", {
      details: [{ path: "Idempotency-Key", messageId: first.id }],
    });
  return { messageId: first.id, status: first.status };
}

export function registerFiscalRoutes(app: Router) {
  registerJwksRoute(app);

  app.openapi(sendRoute, async (c) => {
    const { kind } = c.req.valid("param");
    const body = c.req.valid("json") as FiscalMessageInputT;
    const type = KIND_TO_TYPE[kind as FiscalKind];
    const p = c.get("principal")!;
    requireDisburseScope(p, type);
    checkRules(type, body);
    requireTenant(p, body.locationCode!);
    const sent = await send(c, type, "create", body, null);
    return sent.created ? c.json(sent.answer, 202) : c.json(sent.answer, 200);
  });

  app.openapi(updateRoute, async (c) => {
    const { kind, messageId } = c.req.valid("param");
    const body = c.req.valid("json") as FiscalMessageInputT;
    const type = KIND_TO_TYPE[kind as FiscalKind];
    const p = c.get("principal")!;
    requireDisburseScope(p, type);
    const original = await c
      .get("services")
      .db.select({ ownerId: fiscalMessages.ownerId, piId: fiscalMessages.piId, locationCode: fiscalMessages.locationCode })
      .from(fiscalMessages)
      .where(and(eq(fiscalMessages.id, messageId), eq(fiscalMessages.type, type)))
      .get();
    if (!original || !canSee(p, original.ownerId)) throw new GatewayError("NOT_FOUND", "message not found");
    // A PI's disburse changes only through the funds routes: an update could move money around the funds check.
    if (original.piId)
      throw new GatewayError("INVALID_STATE", "this message is a payment instruction's disburse: change the payment instruction instead", {
        details: [{ piId: original.piId }],
      });
    if (original.locationCode) requireTenant(p, original.locationCode);
    checkRules(type, body);
    requireTenant(p, body.locationCode!);
    const sent = await send(c, type, "update", body, messageId);
    return sent.created ? c.json(sent.answer, 202) : c.json(sent.answer, 200);
  });

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid("query");
    const p = c.get("principal")!;
    const after = decodeCursor(q.cursor, z.tuple([z.string(), z.string()]));
    const where: SQL[] = [];
    if (!(p.kind === "admin" || p.scopes.includes("ops"))) where.push(eq(fiscalMessages.ownerId, p.id));
    // Within the client's tenants (one bound parameter however many); messages without one are the owner's own.
    if (!p.tenants.includes(ALL_TENANTS)) {
      where.push(
        or(
          sql`${fiscalMessages.locationCode} IN (SELECT value FROM json_each(${JSON.stringify(p.tenants)}))`,
          and(sql`${fiscalMessages.locationCode} IS NULL`, eq(fiscalMessages.ownerId, p.id)),
        )!,
      );
    }
    if (q.type) where.push(eq(fiscalMessages.type, q.type));
    if (q.status) where.push(eq(fiscalMessages.status, q.status));
    if (q.deliveryStatus) where.push(eq(fiscalMessages.deliveryStatus, q.deliveryStatus));
    if (after) where.push(or(lt(fiscalMessages.createdAt, after[0]), and(eq(fiscalMessages.createdAt, after[0]), lt(fiscalMessages.id, after[1])))!);
    const rows = await c
      .get("services")
      .db.select()
      .from(fiscalMessages)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(fiscalMessages.createdAt), desc(fiscalMessages.id))
      .limit(q.limit + 1)
      .all();
    const page = rows.slice(0, q.limit);
    const items = page.map(messageSummary);
    const last = page[page.length - 1];
    return c.json({ items, nextCursor: rows.length > q.limit ? encodeCursor([last.createdAt, last.id]) : null }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { messageId } = c.req.valid("param");
    const p = c.get("principal")!;
    const view = await getMessageView(c.get("services").db, messageId);
    if (!view || !canSee(p, view.ownerId)) throw new GatewayError("NOT_FOUND", "message not found");
    if (view.locationCode) requireTenant(p, view.locationCode);
    const { ownerId: _o, ...rest } = view;
    return c.json(rest as z.infer<typeof MessageView>, 200);
  });

  for (const type of IFIX_TYPES) {
    app.openapi(callbackRoute(type), async (c) => {
      const answer = await receiveCallback(c.env, c.get("services").db, type, c.get("jsonBody"));
      return c.json(answer as z.infer<typeof CallbackAnswer>, 200);
    });
  }
}
