import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt, or, sql, type SQL } from "drizzle-orm";
import type { Router } from "../../router";
import { callerSecurity as anyCaller } from "../../router";
import { requireAuth, requireTenant } from "../../middleware/auth";
import { GatewayError, commonErrorResponses, errorResponse } from "../../errors";
import { SIGNABLE, code, identifier as ident, rupees, signable, toPaise } from "../../../adapters/ifix/codec";
import { cursorParam, decodeCursor, encodeCursor, limitParam, listOf } from "../../pagination";
import { fundsAccounts } from "../../../storage/schema/funds-accounts";
import { PI_ROW_STATUSES, PI_STATUSES } from "../../../storage/schema/payment-instructions";
import { ALLOTMENT_TYPE_ALIASES, applyAllotment } from "../../../domain/funds/allotments";
import { balanceView } from "../../../domain/funds/accounts";
import { actorOfPrincipal, createPaymentInstruction, getPiView, listPis, setPiStatusByApi } from "../../../domain/funds/payment-instructions";
import { PI_LOG_KEEP } from "../../../durable-objects/funds-account";
import { ALL_TENANTS } from "../../../domain/security/scopes";
import type { PiStatus } from "../../../domain/funds/types";

const callerSecurity = anyCaller as unknown as Array<Record<string, string[]>>;

const Balance = z.object({ allotted: z.number(), withdrawn: z.number(), committed: z.number(), available: z.number() });
const programCode = () => code("PORG/2023-24/00001");

const AllotmentBody = z
  .strictObject({
    txnId: ident("VA/2026-27/000123"),
    tenantId: code("pb.jalandhar"),
    headOfAccount: code("2215-01-102-01-00"),
    ssuCode: code("SSU001"),
    type: z.enum(Object.keys(ALLOTMENT_TYPE_ALIASES) as [string, ...string[]]).openapi({ example: "INITIAL_ALLOTMENT" }),
    amount: rupees(),
    programCode: programCode()
      .optional()
      .openapi({ description: "The program these funds belong to (initial allotment): a PI's disburse carries it unless the PI names its own" }),
  })
  .openapi("Allotment");
const AllotmentView = z
  .object({
    txnId: z.string(),
    tenantId: z.string(),
    headOfAccount: z.string(),
    ssuCode: z.string(),
    type: z.string(),
    amount: z.number(),
    programCode: z.string().optional(),
    balance: Balance,
    createdAt: z.string(),
  })
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
    403: errorResponse("FORBIDDEN: no scope funds:write, or the tenant is outside the client's tenants"),
  },
});

const SummaryItem = z.object({ tenantId: z.string(), headOfAccount: z.string(), ssuCode: z.string(), ...Balance.shape }).openapi("FundsSummaryItem");
const summaryRoute = createRoute({
  method: "get",
  path: "/v1/funds/summary",
  tags: ["funds"],
  summary: "Funds per head of account and SSU (rupees): one tenant, or every tenant of the client",
  description:
    "Read from the projection that each account's object writes after every change (an allotment's before its answer, a PI's moments after). Without tenantId: the client's tenants (all, for [\"*\"] and the admin key), in pages.",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["funds:read"] })] as const,
  request: {
    query: z.strictObject({
      tenantId: code("pb.jalandhar")
        .optional()
        .openapi({ param: { name: "tenantId", in: "query" } }),
      limit: limitParam(1000, 500),
      cursor: cursorParam(),
    }),
  },
  responses: {
    200: {
      description: "Accounts",
      content: {
        "application/json": { schema: z.object({ items: z.array(SummaryItem), nextCursor: z.string().nullable() }).openapi("FundsSummary") },
      },
    },
    ...commonErrorResponses,
    403: errorResponse("FORBIDDEN: no scope funds:read, or tenantId is outside the client's tenants"),
  },
});

const PiBody = z
  .strictObject({
    paymentId: ident("PAY/2026-27/000042"),
    tenantId: code("pb.jalandhar"),
    headOfAccount: code("2215-01-102-01-00").optional(),
    ssuCode: code("SSU001").optional(),
    programCode: programCode().optional().openapi({ description: "Carried by the disburse; else the paying account's initial allotment's" }),
    amount: rupees(),
    beneficiaries: z
      .array(
        z.strictObject({
          name: z.string().trim().min(1).max(256).refine(signable, SIGNABLE),
          accountCode: code("1234567890@SBIN0003491"),
          amount: rupees(),
        }),
      )
      .min(1)
      .max(500),
  })
  .openapi("PaymentInstructionRequest");
const PiCreated = z.object({ piId: z.string(), status: z.enum(PI_STATUSES) }).openapi("PaymentInstructionCreated");
const PiLog = z.object({
  at: z.string(),
  source: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  accepted: z.boolean(),
  reason: z.string().nullable(),
  released: z.boolean(),
});
const Delivery = z
  .object({ messageId: z.string(), status: z.string(), deliveryStatus: z.string(), attempts: z.number().int(), lastError: z.string().nullable() })
  .nullable();
const PiView = z
  .object({
    piId: z.string(),
    paymentId: z.string(),
    tenantId: z.string(),
    headOfAccount: z.string().nullable(),
    ssuCode: z.string().nullable(),
    programCode: z.string().nullable(),
    amount: z.number(),
    status: z.enum(PI_STATUSES),
    beneficiaryCount: z.number().int(),
    beneficiaries: z
      .array(z.object({ name: z.string(), accountCode: z.string(), amount: z.number() }))
      .openapi({ description: "Decrypted for the PI's owner only; empty for anyone else, and once past the retention period" }),
    log: z.array(PiLog).openapi({ description: `The newest status calls, oldest first (at most ${PI_LOG_KEEP} are kept per PI)` }),
    logTotal: z.number().int().openapi({ description: "Status calls received in all" }),
    logNextCursor: z.string().nullable().openapi({ description: "logCursor for the page of older calls, or null" }),
    delivery: Delivery,
    conflict: z.string().nullable().openapi({ description: "Set when iFIX reported money moved after the PI was FAILED (final): reconcile by hand" }),
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
const PiIdParam = z.object({
  piId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/)
    .openapi({ param: { name: "piId", in: "path" } }),
});

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
    403: errorResponse("FORBIDDEN: no scope funds:write, or the tenant is outside the client's tenants"),
  },
});

const listPiRoute = createRoute({
  method: "get",
  path: "/v1/payment-instructions",
  tags: ["funds"],
  summary:
    "List payment instructions (own; every client's with scope ops or the admin key; always within the client's tenants). stuck=true: not final and needing iFIX's word or an operator's",
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
  responses: {
    200: { description: "PIs, newest first", content: { "application/json": { schema: listOf(PiListItem, "PaymentInstructionList") } } },
    ...commonErrorResponses,
  },
});

const getPiRoute = createRoute({
  method: "get",
  path: "/v1/payment-instructions/{piId}",
  tags: ["funds"],
  summary: "A payment instruction with its status log (paged: logLimit, logCursor)",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["funds:read", "funds:write"] })] as const,
  request: {
    params: PiIdParam,
    query: z.strictObject({
      logLimit: z.coerce
        .number()
        .int()
        .min(1)
        .max(PI_LOG_KEEP)
        .optional()
        .openapi({ param: { name: "logLimit", in: "query" } }),
      logCursor: z
        .string()
        .regex(/^\d{1,15}$/)
        .optional()
        .openapi({ param: { name: "logCursor", in: "query" } }),
    }),
  },
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
  description:
    "Once iFIX has acknowledged the PI's disburse, FAILED is for iFIX's callback or the admin key with a reason (audited); a client gets 409 INVALID_STATE. Every call is kept in the PI's log, accepted or not.",
  security: callerSecurity,
  middleware: [requireAuth({ scopes: ["funds:write"] })] as const,
  request: {
    params: PiIdParam,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({ status: z.enum(PI_STATUSES), reason: z.string().trim().max(500).optional() }).openapi("PaymentInstructionStatus"),
        },
      },
    },
  },
  responses: {
    200: { description: "The PI after the call", content: { "application/json": { schema: PiView } } },
    404: errorResponse("No such PI (or not yours)"),
    409: errorResponse("INVALID_STATE: the move is not allowed (it is still logged)"),
    ...commonErrorResponses,
  },
});

export function registerFundsRoutes(app: Router) {
  app.openapi(allotRoute, async (c) => {
    const b = c.req.valid("json");
    const principal = c.get("principal")!;
    requireTenant(principal, b.tenantId);
    const who = actorOfPrincipal(principal);
    const r = await applyAllotment(
      c.env,
      who.ownerId,
      {
        txnId: b.txnId,
        tenantId: b.tenantId,
        headOfAccount: b.headOfAccount,
        ssuCode: b.ssuCode,
        type: ALLOTMENT_TYPE_ALIASES[b.type],
        amount: toPaise(b.amount),
        programCode: b.programCode,
      },
      who.actor,
      c.get("requestId"),
    );
    return c.json(r.body, r.status);
  });

  app.openapi(summaryRoute, async (c) => {
    const q = c.req.valid("query");
    const p = c.get("principal")!;
    const where: SQL[] = [eq(fundsAccounts.sanctioned, true)];
    if (q.tenantId) {
      requireTenant(p, q.tenantId);
      where.push(eq(fundsAccounts.tenantId, q.tenantId));
    } else if (!p.tenants.includes(ALL_TENANTS)) {
      // One bound parameter however many tenants the client has.
      where.push(sql`${fundsAccounts.tenantId} IN (SELECT value FROM json_each(${JSON.stringify(p.tenants)}))`);
    }
    const after = decodeCursor(q.cursor, z.tuple([z.string(), z.string(), z.string()]));
    if (after) {
      where.push(
        or(
          gt(fundsAccounts.tenantId, after[0]),
          and(eq(fundsAccounts.tenantId, after[0]), gt(fundsAccounts.headOfAccount, after[1])),
          and(eq(fundsAccounts.tenantId, after[0]), eq(fundsAccounts.headOfAccount, after[1]), gt(fundsAccounts.ssuCode, after[2])),
        )!,
      );
    }
    const rows = await c
      .get("services")
      .db.select()
      .from(fundsAccounts)
      .where(and(...where))
      .orderBy(asc(fundsAccounts.tenantId), asc(fundsAccounts.headOfAccount), asc(fundsAccounts.ssuCode))
      .limit(q.limit + 1)
      .all();
    const page = rows.slice(0, q.limit);
    const items = page.map((r) => ({ tenantId: r.tenantId, headOfAccount: r.headOfAccount, ssuCode: r.ssuCode, ...balanceView(r) }));
    const last = page[page.length - 1];
    return c.json({ items, nextCursor: rows.length > q.limit ? encodeCursor([last.tenantId, last.headOfAccount, last.ssuCode]) : null }, 200);
  });

  app.openapi(createPiRoute, async (c) => {
    const b = c.req.valid("json");
    const principal = c.get("principal")!;
    requireTenant(principal, b.tenantId);
    const created = await createPaymentInstruction(
      c.env,
      c.get("services").db,
      actorOfPrincipal(principal),
      {
        paymentId: b.paymentId,
        tenantId: b.tenantId,
        headOfAccount: b.headOfAccount,
        ssuCode: b.ssuCode,
        programCode: b.programCode,
        amount: toPaise(b.amount),
        beneficiaries: b.beneficiaries.map((x) => ({ name: x.name, accountCode: x.accountCode, amount: toPaise(x.amount) })),
      },
      c.get("requestId"),
    );
    return c.json(created, 201);
  });

  app.openapi(listPiRoute, async (c) => {
    const q = c.req.valid("query");
    const p = c.get("principal")!;
    const seesAll = p.kind === "admin" || p.scopes.includes("ops");
    if (q.tenantId) requireTenant(p, q.tenantId);
    const after = decodeCursor(q.cursor, z.tuple([z.string(), z.string()]));
    const r = await listPis(c.get("services").db, {
      ownerId: seesAll ? undefined : p.id,
      tenantId: q.tenantId,
      tenants: p.tenants,
      status: q.status,
      stuck: q.stuck === "true",
      limit: q.limit,
      after,
    });
    return c.json({ items: r.items, nextCursor: r.next ? encodeCursor(r.next) : null } as z.infer<ReturnType<typeof listOf<typeof PiListItem>>>, 200);
  });

  app.openapi(getPiRoute, async (c) => {
    const { piId } = c.req.valid("param");
    const q = c.req.valid("query");
    const view = await getPiView(c.env, c.get("services").db, piId, actorOfPrincipal(c.get("principal")!), {
      logLimit: q.logLimit,
      logBefore: q.logCursor ? Number(q.logCursor) : null,
    });
    return c.json(view as z.infer<typeof PiView>, 200);
  });

  app.openapi(statusRoute, async (c) => {
    const { piId } = c.req.valid("param");
    const { status, reason } = c.req.valid("json");
    const who = actorOfPrincipal(c.get("principal")!);
    const db = c.get("services").db;
    await setPiStatusByApi(c.env, db, piId, status as PiStatus, reason || null, who, c.get("requestId"));
    const view = await getPiView(c.env, db, piId, who);
    if (!view) throw new GatewayError("NOT_FOUND", "payment instruction not found");
    return c.json(view as z.infer<typeof PiView>, 200);
  });
}
