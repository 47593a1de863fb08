import type { Hono } from "hono";
import { z } from "zod";
import { GatewayError, statusOf } from "../../http/errors";
import { actorOf } from "../../http/context";
import { decodeCursor, encodeCursor } from "../../http/pagination";
import { deadLetters } from "../../storage/schema/dead-letters";
import {
  DeadLetterFilter,
  countDeadLetters,
  displayBody,
  getDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  subjectStateOf,
  subjectStates,
} from "../ops/dead-letters";
import { DeadLettersPage } from "../pages/dead-letters";
import { DeadLetterDetail } from "../pages/dead-letter";
import { BulkReplayConfirm } from "../pages/bulk-replay-confirm";
import { BulkReplayResult } from "../pages/bulk-replay-result";
import { allow, istInput, pick, protectedForm, zodMessage } from "../form";
import { page, type C } from "../render";
import type { ConsoleEnv } from "../session";

const PAGE = 50;
const BULK_REPLAY_MAX = 100;

export function registerDeadLetters(app: Hono<ConsoleEnv>) {
  app.get("/dead-letters", async (c) => {
    const q = pick(c.req.query(), ["kind", "queue", "subjectId", "state", "from", "to", "before"]);
    const session = c.get("session")!;
    const filter = DeadLetterFilter.safeParse({ ...q, from: istInput(q.from), to: istInput(q.to) });
    if (!filter.success) {
      return page(
        c,
        "Dead letters",
        "/console/dead-letters",
        <DeadLettersPage q={q} items={[]} next={null} csrf={session.csrf} role={session.role} error={zodMessage(filter.error)} />,
        400,
      );
    }
    const before = q.before ? decodeCursor(q.before, z.object({ createdAt: z.string(), id: z.string() })) : undefined;
    const db = c.get("services").db;
    const { items, next } = await listDeadLetters(db, filter.data, PAGE, before);
    const states = await subjectStates(db, items);
    const kinds = (await db.selectDistinct({ kind: deadLetters.kind }).from(deadLetters).orderBy(deadLetters.kind).limit(50).all()).map(
      (r) => r.kind,
    );
    return page(
      c,
      "Dead letters",
      "/console/dead-letters",
      <DeadLettersPage
        q={q}
        kinds={kinds}
        items={items.map((row) => ({ row, subject: subjectStateOf(states, row) }))}
        next={next ? encodeCursor(next) : null}
        csrf={session.csrf}
        role={session.role}
        ok={c.req.query("replayed") ? `Replayed ${c.req.query("replayed")}.` : undefined}
      />,
    );
  });

  const detail = async (c: C, id: string, flash: { ok?: string; error?: string } = {}, status: 200 | 409 | 422 | 404 = 200) => {
    const db = c.get("services").db;
    const row = await getDeadLetter(db, id);
    if (!row) throw new GatewayError("NOT_FOUND", "no such dead letter");
    const states = await subjectStates(db, [row]);
    const s = c.get("session")!;
    return page(
      c,
      "Dead letter",
      "/console/dead-letters",
      <DeadLetterDetail row={row} subject={subjectStateOf(states, row)} body={displayBody(row)} csrf={s.csrf} role={s.role} {...flash} />,
      status,
    );
  };

  app.get("/dead-letters/:id", (c) => detail(c, c.req.param("id")));

  app.post("/dead-letters/replay", allow("dead_letter.replay"), async (c) => {
    const form = await protectedForm(c);
    const raw = pick(form, ["kind", "queue", "subjectId", "state", "from", "to"]);
    const filter = DeadLetterFilter.safeParse({ ...raw, from: istInput(raw.from), to: istInput(raw.to) });
    if (!filter.success) throw new GatewayError("VALIDATION_FAILED", zodMessage(filter.error));
    const db = c.get("services").db;
    if (form.confirm !== "yes") {
      const n = await countDeadLetters(db, filter.data);
      return page(
        c,
        "Replay dead letters?",
        "/console/dead-letters",
        <BulkReplayConfirm filter={raw} count={n} max={BULK_REPLAY_MAX} csrf={c.get("session")!.csrf} />,
      );
    }
    const results = await replayDeadLetters(c.env, db, filter.data, BULK_REPLAY_MAX, actorOf(c.get("principal")), c.get("requestId"));
    return page(c, "Replay results", "/console/dead-letters", <BulkReplayResult results={results} />);
  });

  app.post("/dead-letters/:id/replay", allow("dead_letter.replay"), async (c) => {
    const form = await protectedForm(c);
    const id = c.req.param("id");
    if (form.confirm !== "yes") return detail(c, id, { error: "Tick the confirmation box to replay." }, 422);
    try {
      const r = await replayDeadLetter(c.env, c.get("services").db, id, actorOf(c.get("principal")), c.get("requestId"));
      return detail(c, id, { ok: `Replayed: ${r.message}.` });
    } catch (err) {
      if (err instanceof GatewayError && (statusOf(err) === 409 || statusOf(err) === 422))
        return detail(c, id, { error: `Not replayed: ${err.message}` }, statusOf(err) as 409 | 422);
      throw err;
    }
  });
}
