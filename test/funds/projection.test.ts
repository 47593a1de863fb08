import { beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { type TestClient } from "../helpers/gateway";
import { createDb } from "../../src/storage/db";
import { fundsAccounts } from "../../src/storage/schema/funds-accounts";
import { paymentInstructions } from "../../src/storage/schema/payment-instructions";
import { auditLog } from "../../src/storage/schema/audit-log";
import { accountStub } from "../../src/domain/funds/accounts";
import { projectionStatements } from "../../src/domain/funds/projection";
import type { FundsAccount } from "../../src/durable-objects/funds-account";
import { sweepFiscal } from "../../src/cron/fiscal-sweep.job";
import type { Env } from "../../src/env";
import { account, allot, createTenantClient, pi, piBody, type Account } from "./helpers";

const E = env as unknown as Env;
const db = createDb(env.DB);
let owner: TestClient;

beforeAll(async () => {
  owner = await createTenantClient(["funds:write", "funds:read"], ["*"], "projection owner");
});

const rowOf = (a: Account) =>
  db
    .select()
    .from(fundsAccounts)
    .where(and(eq(fundsAccounts.tenantId, a.tenantId), eq(fundsAccounts.headOfAccount, a.headOfAccount), eq(fundsAccounts.ssuCode, a.ssuCode)))
    .get();

async function expectConverged(a: Account) {
  const truth = await accountStub(E, a).snapshot();
  const row = await rowOf(a);
  expect({ allotted: row?.allotted, withdrawn: row?.withdrawn, committed: row?.committed, available: row?.available, seq: row?.seq }).toEqual({
    allotted: truth.allotted,
    withdrawn: truth.withdrawn,
    committed: truth.committed,
    available: truth.available,
    seq: truth.seq,
  });
  return truth;
}
const auditsOf = async (targetId: string) => db.select().from(auditLog).where(eq(auditLog.targetId, targetId)).all();

describe("D1 is a projection of the account objects, written by them, seq-guarded", () => {
  it("applies only newer states, whatever order the rounds land in; an audit entry once", async () => {
    const a = account();
    await allot(owner.token, a, "INITIAL_ALLOTMENT", 100);
    const newer = await accountStub(E, a).snapshot();
    const round = (seq: number, allotted: number, audit = false) =>
      projectionStatements(E.DB, {
        account: a,
        balance: { ...newer, allotted, available: allotted },
        upTo: seq,
        pis: [],
        txns: [],
        audits: audit
          ? [
              {
                seq,
                at: new Date().toISOString(),
                actor: "test",
                action: "test.audit",
                targetType: "t",
                targetId: `proj-${a.tenantId}`,
                before: null,
                after: { seq },
                requestId: null,
              },
            ]
          : [],
      });
    await E.DB.batch(round(newer.seq - 1, 1));
    expect((await rowOf(a))!.allotted).toBe(10000);
    await E.DB.batch(round(newer.seq + 5, 1, true));
    expect((await rowOf(a))!.allotted).toBe(1);
    await E.DB.batch(round(newer.seq + 5, 1, true)); // the same round again (a crash before the object noted it)
    await E.DB.batch(round(newer.seq, 10000)); // an older state never overwrites
    expect((await rowOf(a))!.allotted).toBe(1);
    expect(await auditsOf(`proj-${a.tenantId}`)).toHaveLength(1);
  });

  it("a crash after D1 committed a round, before the object noted it: the round is written again and changes nothing", async () => {
    const a = account();
    await allot(owner.token, a, "INITIAL_ALLOTMENT", 100);
    const stub = () => accountStub(E, a);
    await stub().testHooks({ crashAt: "after-projection-batch" });
    const r = await pi(owner.token, piBody(a, 10));
    expect(r.status).toBe(201);
    await vi.waitFor(
      async () =>
        expect((await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, r.json.piId)).get())?.status).toBe("INITIATED"),
      { timeout: 10_000, interval: 50 },
    );
    // The object did not note the round: it is projected again (the alarm's retry, or here a flush).
    await stub().kick();
    await vi.waitFor(
      async () => {
        const projected = await runInDurableObject(stub(), async (_i: FundsAccount, s) =>
          s.storage.sql.exec<{ p: number; q: number }>("SELECT projected_seq AS p, seq AS q FROM account").one(),
        );
        expect(projected.p).toBe(projected.q);
      },
      { timeout: 10_000, interval: 50 },
    );
    expect((await auditsOf(r.json.piId)).filter((x) => x.action === "funds.pi_commit")).toHaveLength(1);
    await expectConverged(a);
  });

  it("after changes whose projection writes were lost, the sweep makes D1 equal the objects again", async () => {
    const a = account();
    const b = account({ tenantId: a.tenantId });
    await allot(owner.token, a, "INITIAL_ALLOTMENT", 1000);
    await allot(owner.token, b, "INITIAL_ALLOTMENT", 500);
    const viaApi = await pi(owner.token, piBody(a, 100));
    expect(viaApi.status).toBe(201);
    await vi.waitFor(async () => expectConverged(a), { timeout: 10_000, interval: 50 });
    // Its disburse at iFIX first (so the FAILED below meets one known state: acknowledged, which
    // takes the admin key and a reason; a FAILED racing the post was refused when the post won).
    await vi.waitFor(async () => expect((await accountStub(E, a).getPi(viaApi.json.piId))!.delivery!.state).toBe("delivered"), {
      timeout: 10_000,
      interval: 50,
    });

    // Every projection write of both objects is lost from now on (D1 unreachable from them).
    await accountStub(E, a).testHooks({ failProjections: 1_000 });
    await accountStub(E, b).testHooks({ failProjections: 1_000 });
    expect((await allot(owner.token, a, "ADDITIONAL_ALLOTMENT", 25)).status).toBe(201);
    expect((await allot(owner.token, b, "ALLOTMENT_WITHDRAWAL", 100)).status).toBe(201);
    expect((await pi(owner.token, piBody(b, 7))).status).toBe(201);
    const failed = await accountStub(E, a).setPiStatus(viaApi.json.piId, "FAILED", {
      eventId: `t-${crypto.randomUUID()}`,
      source: "admin",
      actor: "test",
      reason: "crash test",
      requestId: null,
    });
    expect(failed.ok && failed.released).toBe(true);
    // Stale meanwhile.
    expect((await rowOf(a))!.available).not.toBe((await accountStub(E, a).snapshot()).available);

    await accountStub(E, a).testHooks({ failProjections: 0 });
    await accountStub(E, b).testHooks({ failProjections: 0 });
    const report = await sweepFiscal(E);
    expect(report.flushAccounts.failed).toBe(0);
    const [ta, tb] = await vi.waitFor(async () => [await expectConverged(a), await expectConverged(b)], { timeout: 15_000, interval: 100 });
    expect(ta).toMatchObject({ allotted: 102_500, committed: 0, available: 102_500 });
    expect(tb).toMatchObject({ allotted: 50_000, withdrawn: 10_000, committed: 700, available: 39_300 });
    expect(await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, viaApi.json.piId)).get()).toMatchObject({
      status: "FAILED",
      live: 0,
    });
    // A second sweep changes nothing.
    await sweepFiscal(E);
    await expectConverged(a);
    expect((await auditsOf(viaApi.json.piId)).filter((x) => x.action === "funds.pi_status_override")).toHaveLength(1);
  });
});
