import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Router } from "../../router";
import { callerSecurity as anyCaller } from "../../router";
import { requireAuth, canSee } from "../../middleware/auth";
import { GatewayError, commonErrorResponses, errorResponse } from "../../errors";
import { actorOf, ownerOf } from "../../context";
import { SIGNABLE, code, identifier as ident, rupees, signable, toPaise } from "../../../adapters/ifix/codec";
import { getIfixConfig } from "../../../adapters/ifix/config";
import { cursorParam, decodeCursor, encodeCursor, limitParam, listOf } from "../../pagination";
import { fundsAccounts } from "../../../storage/schema/funds-accounts";
import { PI_ROW_STATUSES, PI_STATUSES, paymentInstructions } from "../../../storage/schema/payment-instructions";
import { ALLOTMENT_TYPE_ALIASES, applyAllotment } from "../../../domain/funds/allotments";
import { balanceView } from "../../../domain/funds/accounts";
import { createPaymentInstruction, getPiView, listPis, setPiStatusByApi } from "../../../domain/funds/payment-instructions";
import type { PiStatus } from "../../../domain/funds/types";

const callerSecurity = anyCaller as unknown as Array<Record<string, string[]>>;

const Balance = z.object({ allotted: z.number(), withdrawn: z.number(), committed: z.number(), available: z.number() });

const AllotmentBody = z
  .strictObject({
    txnId: ident("VA/2026-27/000123"),
    tenantId: code("pb.jalandhar"),
    headOfAccount: code("2215-01-102-01-00"),
    ssuCode: code("SSU001"),
    type: z.enum(Object.keys(ALLOTMENT_TYPE_ALIASES) as [string, ...string[]]).openapi({ example: "INITIAL_ALLOTMENT" }),
    amount: rupees(),
  })
  .openapi("Allotment");
const AllotmentView = z
  .object({ txnId: z.string(), tenantId: z.string(), headOfAccount: z.string(), ssuCode: z.string(), type: z.string(), amount: z.number(), balance: Balance, createdAt: z.string() })
  .openapi("AllotmentResult");

const allotRoute = createRoute({
  method: "post",
  path: "/v1/funds/allotments",
  tags: ["funds"],
  summary: "Apply an allotment (initial, additional, withdrawal) to a funds account; idempotent on txnId",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["funds:write"] })] as const,
  request: { body: { required: true, content: { "application/json": { schema: AllotmentBody } } } },
  responses: {
    200: { description: "The same txnId again: the first result, no second effect", content: { "application/json": { schema: AllotmentView } } },
    201: { description: "Applied", content: { "application/json": { schema: AllotmentView } } },
    404: errorResponse("SANCTION_NOT_FOUND: no initial allotment for this account"),
    409: errorResponse("SANCTION_EXISTS, IDEMPOTENCY_CONFLICT, or CONFLICT (another client's txnId)"),
    422: errorResponse("INSUFFICIENT_FUNDS: a withdrawal over the available funds"),
    ...commonErrorResponses,
  },
});

const SummaryItem = z.object({ tenantId: z.string(), headOfAccount: z.string(), ssuCode: z.string(), ...Balance.shape }).openapi("FundsSummaryItem");
const summaryRoute = createRoute({
  method: "get",
  path: "/v1/funds/summary",
  tags: ["funds"],
  summary: "Funds per head of account and SSU for a tenant (rupees)",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["funds:read"] })] as const,
  request: { query: z.strictObject({ tenantId: code("pb.jalandhar").openapi({ param: { name: "tenantId", in: "query" } }) }) },
  responses: { 200: { description: "Accounts", content: { "application/json": { schema: z.object({ items: z.array(SummaryItem) }).openapi("FundsSummary") } } }, ...commonErrorResponses },
});

const PiBody = z
  .strictObject({
    paymentId: ident("PAY/2026-27/000042"),
    tenantId: code("pb.jalandhar"),
    headOfAccount: code("2215-01-102-01-00").optional(),
    ssuCode: code("SSU001").optional(),
    amount: rupees(),
    beneficiaries: z
      .array(z.strictObject({ name: z.string().trim().min(1).max(256).refine(signable, SIGNABLE), accountCode: code("1234567890@SBIN0003491"), amount: rupees() }))
      .min(1)
      .max(500),
  })
  .openapi("PaymentInstructionRequest");
const PiCreated = z.object({ piId: z.string(), status: z.enum(PI_STATUSES) }).openapi("PaymentInstructionCreated");
const PiLog = z.object({ at: z.string(), source: z.string(), from: z.string().nullable(), to: z.string(), accepted: z.boolean(), reason: z.string().nullable(), released: z.boolean() });
const Delivery = z.object({ messageId: z.string(), status: z.string(), deliveryStatus: z.string(), attempts: z.number().int(), lastError: z.string().nullable() }).nullable();
const PiView = z
  .object({
    piId: z.string(),
    paymentId: z.string(),
    tenantId: z.string(),
    headOfAccount: z.string().nullable(),
    ssuCode: z.string().nullable(),
    amount: z.number(),
    status: z.enum(PI_STATUSES),
    beneficiaryCount: z.number().int(),
    beneficiaries: z
      .array(z.object({ name: z.string(), accountCode: z.string(), amount: z.number() }))
      .openapi({ description: "Decrypted for the PI's owner only; empty for anyone else" }),
    log: z.array(PiLog),
    delivery: Delivery,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("PaymentInstruction");
const PiListItem = z
  .object({
    piId: z.string(),
    paymentId: z.string(),
    tenantId: z.string(),
    headOfAccount: z.string().nullable(),
    ssuCode: z.string().nullable(),
    amount: z.number(),
    status: z.enum(PI_ROW_STATUSES),
    delivery: Delivery,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("PaymentInstructionSummary");
const PiIdParam = z.object({ piId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/).openapi({ param: { name: "piId", in: "path" } }) });

const createPiRoute = createRoute({
  method: "post",
  path: "/v1/payment-instructions",
  tags: ["funds"],
  summary: "Create a payment instruction: funds checked and committed in one serialised step, then sent to iFIX as a signed disburse",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["funds:write"] })] as const,
  request: { body: { required: true, content: { "application/json": { schema: PiBody } } } },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: PiCreated } } },
    409: errorResponse("PI_EXISTS: the paymentId has a PI that has not failed (CONFLICT: another client's paymentId)"),
    422: errorResponse("AMOUNT_MISMATCH or INSUFFICIENT_FUNDS (nothing deducted)"),
    ...commonErrorResponses,
  },
});

const listPiRoute = createRoute({
  method: "get",
  path: "/v1/payment-instructions",
  tags: ["funds"],
  summary: "List payment instructions (own; every client's with scope ops or the admin key). stuck=true: not final and needing iFIX's word or an operator's",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["funds:read", "ops"] })] as const,
  request: {
    query: z.strictObject({
      status: z.enum(PI_ROW_STATUSES).optional(),
      stuck: z.enum(["true", "false"]).optional(),
      tenantId: code("pb.jalandhar").optional(),
      limit: limitParam(200, 50),
      cursor: cursorParam(),
    }),
  },
  responses: { 200: { description: "PIs, newest first", content: { "application/json": { schema: listOf(PiListItem, "PaymentInstructionList") } } }, ...commonErrorResponses },
});

const getPiRoute = createRoute({
  method: "get",
  path: "/v1/payment-instructions/{piId}",
  tags: ["funds"],
  summary: "A payment instruction with its status log",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["funds:read", "funds:write"] })] as const,
  request: { params: PiIdParam },
  responses: {
    200: { description: "The PI", content: { "application/json": { schema: PiView } } },
    404: errorResponse("No such PI (or not yours)"),
    ...commonErrorResponses,
  },
});

const statusRoute = createRoute({
  method: "post",
  path: "/v1/payment-instructions/{piId}/status",
  tags: ["funds"],
  summary: "Set a payment instruction's status (audited); FAILED gives its amount back once",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["funds:write"] })] as const,
  request: {
    params: PiIdParam,
    body: { required: true, content: { "application/json": { schema: z.strictObject({ status: z.enum(PI_STATUSES), reason: z.string().trim().max(500).optional() }).openapi("PaymentInstructionStatus") } } },
  },
  responses: {
    200: { description: "The PI after the call", content: { "application/json": { schema: PiView } } },
    404: errorResponse("No such PI (or not yours)"),
    409: errorResponse("INVALID_STATE: the move is not allowed (it is still logged)"),
    ...commonErrorResponses,
  },
});

async function visiblePi(c: { get: (k: "services") => { db: import("../../../storage/db").Db } }, piId: string, principal: Parameters<typeof canSee>[0]) {
  const row = await c.get("services").db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, piId)).get();
  if (!row || !canSee(principal, row.ownerId)) throw new GatewayError("NOT_FOUND", "payment instruction not found");
  return row;
}

export function registerFundsRoutes(app: Router) {
  app.openapi(allotRoute, async (c) => {
    const b = c.req.valid("json");
    const principal = c.get("principal")!;
    const r = await applyAllotment(
      c.env,
      c.get("services").db,
      ownerOf(principal),
      { txnId: b.txnId, tenantId: b.tenantId, headOfAccount: b.headOfAccount, ssuCode: b.ssuCode, type: ALLOTMENT_TYPE_ALIASES[b.type], amount: toPaise(b.amount) },
      actorOf(principal),
      c.get("requestId"),
    );
    return c.json(r.body, r.status);
  });

  app.openapi(summaryRoute, async (c) => {
    const { tenantId } = c.req.valid("query");
    const rows = await c
      .get("services")
      .db.select()
      .from(fundsAccounts)
      .where(eq(fundsAccounts.tenantId, tenantId))
      .orderBy(fundsAccounts.headOfAccount, fundsAccounts.ssuCode)
      .all();
    const items = rows
      .filter((r) => r.sanctioned)
      .map((r) => ({ tenantId: r.tenantId, headOfAccount: r.headOfAccount, ssuCode: r.ssuCode, ...balanceView(r) }));
    return c.json({ items }, 200);
  });

  app.openapi(createPiRoute, async (c) => {
    const b = c.req.valid("json");
    getIfixConfig(c.env); // 503 CONFIG_INVALID before any funds move
    const created = await createPaymentInstruction(c.env, c.get("services").db, ownerOf(c.get("principal")!), {
      paymentId: b.paymentId,
      tenantId: b.tenantId,
      headOfAccount: b.headOfAccount,
      ssuCode: b.ssuCode,
      amount: toPaise(b.amount),
      beneficiaries: b.beneficiaries.map((x) => ({ name: x.name, accountCode: x.accountCode, amount: toPaise(x.amount) })),
    }, c.get("requestId"));
    return c.json(created, 201);
  });

  app.openapi(listPiRoute, async (c) => {
    const q = c.req.valid("query");
    const p = c.get("principal")!;
    const seesAll = p.kind === "admin" || p.scopes.includes("ops");
    const after = decodeCursor(q.cursor, z.tuple([z.string(), z.string()]));
    const r = await listPis(c.get("services").db, {
      ownerId: seesAll ? undefined : p.id,
      tenantId: q.tenantId,
      status: q.status,
      stuck: q.stuck === "true",
      limit: q.limit,
      after,
    });
    return c.json({ items: r.items, nextCursor: r.next ? encodeCursor(r.next) : null } as z.infer<ReturnType<typeof listOf<typeof PiListItem>>>, 200);
  });

  app.openapi(getPiRoute, async (c) => {
    const { piId } = c.req.valid("param");
    const p = c.get("principal")!;
    const row = await visiblePi(c, piId, p);
    const view = await getPiView(c.env, c.get("services").db, row, p.id);
    if (!view) throw new GatewayError("NOT_FOUND", "payment instruction not found");
    return c.json(view as z.infer<typeof PiView>, 200);
  });

  app.openapi(statusRoute, async (c) => {
    const { piId } = c.req.valid("param");
    const { status, reason } = c.req.valid("json");
    const p = c.get("principal")!;
    const db = c.get("services").db;
    const row = await visiblePi(c, piId, p);
    await setPiStatusByApi(c.env, db, row, status as PiStatus, reason || null, actorOf(p), c.get("requestId"));
    const view = await getPiView(c.env, db, row, p.id);
    if (!view) throw new GatewayError("NOT_FOUND", "payment instruction not found");
    return c.json(view as z.infer<typeof PiView>, 200);
  });
}
