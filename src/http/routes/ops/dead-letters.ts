import { createRoute, z } from "@hono/zod-openapi";
import { GatewayError, commonErrorResponses, errorResponse } from "../../errors";
import { actorOf } from "../../context";
import { cursorParam, decodeCursor, encodeCursor, limitParam, listOf } from "../../pagination";
import {
  DeadLetterFilter,
  countDeadLetters,
  getDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  subjectStateOf,
  subjectStates,
  type DeadLetterRow,
  type SubjectState,
} from "../../../console/ops/dead-letters";
import { redact } from "../../../lib/redact";
import { adminOrOps, security, type Router } from "./common";

const DeadLetter = z
  .object({
    id: z.string(),
    queue: z.string(),
    kind: z.string(),
    subjectId: z.string().nullable(),
    body: z.unknown().openapi({ description: "The message as dead-lettered (redacted)" }),
    reason: z.string().nullable(),
    createdAt: z.string(),
    replayedAt: z.string().nullable(),
    replayCount: z.number().int(),
    subject: z.object({ type: z.enum(["claim", "fiscal_message", "unknown"]), status: z.string().nullable(), detail: z.string().nullable() }),
  })
  .openapi("DeadLetter");

const view = (row: DeadLetterRow, subject: SubjectState) => ({ ...row, body: redact(row.body), subject });

const ReplayResult = z
  .object({
    id: z.string(),
    ok: z.boolean(),
    subjectType: z.string(),
    subjectId: z.string().nullable(),
    outcome: z.string().openapi({ description: "The subject's new status, or the refusal's error code" }),
    message: z.string(),
    replayCount: z.number().int().optional(),
  })
  .openapi("DeadLetterReplayResult");

/** The console's dead-letter filter, documented: validated once here, not again in the handler. */
const filterQuery = {
  ...DeadLetterFilter.shape,
  state: DeadLetterFilter.shape.state.openapi({ description: "open (default): not replayed yet" }),
};

const listRoute = createRoute({
  method: "get",
  path: "/v1/admin/dead-letters",
  tags: ["ops"],
  summary: "Dead letters, newest first, with their subject's current status",
  security,
  middleware: [adminOrOps] as const,
  request: { query: z.strictObject({ ...filterQuery, limit: limitParam(200, 50), cursor: cursorParam() }) },
  responses: {
    200: { description: "Dead letters", content: { "application/json": { schema: listOf(DeadLetter, "DeadLetterList") } } },
    ...commonErrorResponses,
  },
});

const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "id", in: "path" } }),
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/admin/dead-letters/{id}",
  tags: ["ops"],
  summary: "One dead letter",
  security,
  middleware: [adminOrOps] as const,
  request: { params: IdParam },
  responses: {
    200: { description: "The dead letter", content: { "application/json": { schema: DeadLetter } } },
    404: errorResponse("No such dead letter"),
    ...commonErrorResponses,
  },
});

const replayOneRoute = createRoute({
  method: "post",
  path: "/v1/admin/dead-letters/{id}/replay",
  tags: ["ops"],
  summary: "Replay one dead letter through its owning area's rule (claims: FAILED → QUEUED, same bytes; fiscal: stored signed bytes again)",
  description:
    "May deliver the same work again: only a subject that is still FAILED is replayed. A claim that failed on the portal's 409 answers 409 " +
    "PORTAL_CONFLICT; a subject no longer failed answers 409 INVALID_STATE; a dead letter of a kind without a replay rule answers 422. " +
    "Each replay is counted on the dead letter and written to the audit log.",
  security,
  middleware: [adminOrOps] as const,
  request: { params: IdParam },
  responses: {
    200: { description: "Replayed", content: { "application/json": { schema: ReplayResult } } },
    404: errorResponse("No such dead letter (or its subject is gone)"),
    409: errorResponse("INVALID_STATE or PORTAL_CONFLICT: not replayed"),
    422: errorResponse("BUSINESS_RULE: no replay rule for this kind"),
    ...commonErrorResponses,
  },
});

const replayManyRoute = createRoute({
  method: "post",
  path: "/v1/admin/dead-letters/replay",
  tags: ["ops"],
  summary: "Replay every dead letter a filter selects (at most `max`, newest first); needs `confirm: true`",
  description:
    "Without `confirm: true` nothing is replayed and the answer says how many would be (a dry run). Each dead letter goes through its own " +
    "area's rule; refusals are reported per item.",
  security,
  middleware: [adminOrOps] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .strictObject({
              filter: z.strictObject(filterQuery).default({}),
              max: z.number().int().min(1).max(100).default(100),
              confirm: z.boolean().default(false),
            })
            .openapi("DeadLetterBulkReplay"),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Results (or, without confirm, the count that would be replayed)",
      content: {
        "application/json": {
          schema: z
            .object({
              confirmed: z.boolean(),
              matched: z.number().int(),
              replayed: z.number().int(),
              refused: z.number().int(),
              results: z.array(ReplayResult),
            })
            .openapi("DeadLetterBulkReplayResult"),
        },
      },
    },
    ...commonErrorResponses,
  },
});

/** Dead letters: list, read, replay one, replay a filtered set. */
export function registerDeadLetterRoutes(app: Router) {
  app.openapi(listRoute, async (c) => {
    const { limit, cursor, ...filter } = c.req.valid("query");
    const before = decodeCursor(cursor, z.object({ createdAt: z.string(), id: z.string() }));
    const db = c.get("services").db;
    const { items, next } = await listDeadLetters(db, filter, limit, before);
    const states = await subjectStates(db, items);
    return c.json({ items: items.map((r) => view(r, subjectStateOf(states, r))), nextCursor: next ? encodeCursor(next) : null }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const db = c.get("services").db;
    const row = await getDeadLetter(db, c.req.valid("param").id);
    if (!row) throw new GatewayError("NOT_FOUND", "dead letter not found");
    return c.json(view(row, subjectStateOf(await subjectStates(db, [row]), row)), 200);
  });

  app.openapi(replayOneRoute, async (c) => {
    const r = await replayDeadLetter(c.env, c.get("services").db, c.req.valid("param").id, actorOf(c.get("principal")), c.get("requestId"));
    return c.json(r, 200);
  });

  app.openapi(replayManyRoute, async (c) => {
    const body = c.req.valid("json");
    const filter = body.filter;
    const db = c.get("services").db;
    const matched = await countDeadLetters(db, filter);
    if (!body.confirm) return c.json({ confirmed: false, matched, replayed: 0, refused: 0, results: [] }, 200);
    const results = await replayDeadLetters(c.env, db, filter, body.max, actorOf(c.get("principal")), c.get("requestId"));
    return c.json(
      { confirmed: true, matched, replayed: results.filter((r) => r.ok).length, refused: results.filter((r) => !r.ok).length, results },
      200,
    );
  });
}
