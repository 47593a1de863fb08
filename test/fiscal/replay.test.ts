import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { call, type TestClient } from "../helpers/gateway";
import { clearFaults, sandbox } from "../helpers/sandbox";
import { createDb } from "../../src/storage/db";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../src/storage/schema/fiscal-outbox";
import { auditLog } from "../../src/storage/schema/audit-log";
import { prepareMessage } from "../../src/domain/fiscal/messages";
import { encodeMessage } from "../../src/adapters/ifix/codec";
import { replayFiscalMessage } from "../../src/console/ops/replayers";
import { accountStub } from "../../src/domain/funds/accounts";
import { deliverPiMessage } from "../../src/domain/fiscal/delivery";
import type { FundsAccount } from "../../src/durable-objects/funds-account";
import type { Env } from "../../src/env";
import { programInput } from "./helpers";
import { account, allot, createTenantClient, pi, piBody } from "../funds/helpers";

const E = env as unknown as Env;
const db = createDb(env.DB);
let owner: TestClient;

beforeAll(async () => {
  owner = await createTenantClient(["funds:write", "funds:read"], ["*"], "replay owner");
});
afterEach(async () => {
  await clearFaults();
});
const audits = (id: string) =>
  db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, "fiscal.replay"), eq(auditLog.targetId, id)))
    .all();

describe("replaying a fiscal message (dead letters)", () => {
  it("concurrent replays of one FAILED message: one happens, and only it is audited (issue 10: a replay that did not happen was audited)", async () => {
    const p = await prepareMessage(E, db, { ownerId: "cl_replay", type: "program", action: "create", message: encodeMessage(programInput()) });
    await db.batch(p.inserts);
    await db.delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, p.messageId)).run();
    await db.update(fiscalMessages).set({ deliveryStatus: "FAILED", status: "FAILED", attempts: 8 }).where(eq(fiscalMessages.id, p.messageId)).run();
    // All five in the same millisecond (seen in a whole-suite run: the audit's guard was "QUEUED at
    // this updatedAt", which a replay that lost the race also met when its clock read the same).
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    const rs = await Promise.allSettled(Array.from({ length: 5 }, () => replayFiscalMessage(E, db, p.messageId, "admin", null))).finally(() =>
      vi.useRealTimers(),
    );
    expect(rs.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(rs.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason.code === "INVALID_STATE")).toBe(true);
    expect(await audits(p.messageId)).toHaveLength(1);
    await vi.waitFor(
      async () => expect((await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, p.messageId)).get())!.deliveryStatus).toBe("DELIVERED"),
      { timeout: 15_000, interval: 100 },
    );
    // Delivered now: a replay is refused, and not audited.
    await expect(replayFiscalMessage(E, db, p.messageId, "admin", null)).rejects.toMatchObject({ code: "INVALID_STATE" });
    expect(await audits(p.messageId)).toHaveLength(1);
  });

  it("a PI's disburse given up on is re-queued by its account's object (audited there); a FAILED PI's is refused, not audited", async () => {
    const acc = account();
    await allot(owner.token, acc, "INITIAL_ALLOTMENT", 100);
    const stub = accountStub(E, acc);
    await stub.testHooks({ holdHandoff: true });
    const id = (await pi(owner.token, piBody(acc, 10))).json.piId;
    const [h] = await stub.testHandOff();
    expect(await deliverPiMessage(E, h)).toBe("delivered"); // the D1 row exists from here on
    // As if every attempt had failed: the outbox entry is `failed`, the D1 row FAILED.
    await runInDurableObject(stub, async (_i: FundsAccount, s) =>
      s.storage.sql.exec("UPDATE outbox SET state = 'failed', attempts = 8 WHERE message_id = ?", h.messageId),
    );
    await db.update(fiscalMessages).set({ deliveryStatus: "FAILED" }).where(eq(fiscalMessages.id, h.messageId)).run();
    const out = await replayFiscalMessage(E, db, h.messageId, "admin", "req-replay");
    expect(out.after).toMatch(/QUEUED/);
    const [again] = await stub.testHandOff();
    expect(again.messageId).toBe(h.messageId);
    expect(await deliverPiMessage(E, again)).toBe("delivered");
    await stub.kick();
    await vi.waitFor(async () => expect(await audits(h.messageId)).toHaveLength(1), { timeout: 10_000, interval: 100 });
    // The PI FAILED: its disburse is not replayed, and nothing is audited.
    await runInDurableObject(stub, async (_i: FundsAccount, s) =>
      s.storage.sql.exec("UPDATE outbox SET state = 'failed' WHERE message_id = ?", h.messageId),
    );
    expect(
      (await call("POST", `/v1/payment-instructions/${id}/status`, { admin: true, body: { status: "FAILED", reason: "replay test" } })).status,
    ).toBe(200);
    await db.update(fiscalMessages).set({ deliveryStatus: "FAILED" }).where(eq(fiscalMessages.id, h.messageId)).run();
    await expect(replayFiscalMessage(E, db, h.messageId, "admin", null)).rejects.toMatchObject({ code: "INVALID_STATE" });
    await stub.kick();
    expect(await audits(h.messageId)).toHaveLength(1);
    expect((await sandbox("GET", `/ifix/__sandbox/messages/${h.messageId}`)).json.posts).toBe(2);
    await stub.testHooks({ holdHandoff: false });
  });
});
