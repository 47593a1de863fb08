import { beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { call, createClient, type TestClient } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
import { createDb } from "../../src/storage/db";
import { fundsAccounts } from "../../src/storage/schema/funds-accounts";
import { paymentInstructions } from "../../src/storage/schema/payment-instructions";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { accountStub, projectBalance } from "../../src/domain/funds/accounts";
import { sealText } from "../../src/domain/fiscal/at-rest";
import { runFiscalSweep } from "../../src/cron/fiscal-sweep.job";
import type { Env } from "../../src/env";
import { account, allot, pi, piBody, summaryOf, type Account } from "./helpers";

const E = env as unknown as Env;
const db = createDb(env.DB);
let owner: TestClient;

beforeAll(async () => {
  owner = await createClient(["funds:write", "funds:read"], "projection owner");
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
  expect({ allotted: row!.allotted, withdrawn: row!.withdrawn, committed: row!.committed, available: row!.available, seq: row!.seq, sanctioned: row!.sanctioned }).toEqual({
    allotted: truth.allotted,
    withdrawn: truth.withdrawn,
    committed: truth.committed,
    available: truth.available,
    seq: truth.seq,
    sanctioned: truth.sanctioned,
  });
  return truth;
}

/** A PI left RESERVED by a crash after (or before) its Durable Object commit. */
async function reservation(a: Account, amount: number, ageMs = 5 * 60_000) {
  const piId = `pi_crash${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const at = new Date(Date.now() - ageMs).toISOString();
  const bens = [{ name: "Crash Test", accountCode: "55@SBIN0000005", amount }];
  await db.insert(paymentInstructions).values({
    piId,
    paymentId: `PAY/${crypto.randomUUID()}`,
    ownerId: owner.clientId,
    tenantId: a.tenantId,
    requestedHeadOfAccount: a.headOfAccount,
    requestedSsuCode: a.ssuCode,
    amount,
    beneficiaryCount: 1,
    beneficiariesEnc: await sealText(E, JSON.stringify(bens), piId),
    status: "RESERVED",
    messageId: crypto.randomUUID(),
    createdAt: at,
    updatedAt: at,
  });
  return (await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, piId)).get())!;
}

describe("funds summary projection converges (crash between Durable Object and D1)", () => {
  it("applies only newer states (seq), whatever order the writes land in", async () => {
    const a = account();
    await allot(owner.token, a, "INITIAL_ALLOTMENT", 100);
    const newer = await accountStub(E, a).snapshot();
    const older = { ...newer, seq: newer.seq - 1, allotted: 1, available: 1 };
    await projectBalance(db, a, older).run();
    expect((await rowOf(a))!.allotted).toBe(10000);
    await projectBalance(db, a, { ...newer, seq: newer.seq + 5, allotted: 1, available: 1 }).run();
    expect((await rowOf(a))!.allotted).toBe(1);
    await projectBalance(db, a, newer).run(); // an older state never overwrites
    expect((await rowOf(a))!.allotted).toBe(1);
  });

  it("after changes whose projection writes were lost, the sweep makes D1 equal the objects again", async () => {
    const a = account();
    const b = account({ tenantId: a.tenantId });
    await allot(owner.token, a, "INITIAL_ALLOTMENT", 1000);
    await allot(owner.token, b, "INITIAL_ALLOTMENT", 500);
    const viaApi = await pi(owner.token, piBody(a, 100));
    expect(viaApi.status).toBe(201);

    // Crashes: each object changes, and its D1 write never happens.
    const stubA = accountStub(E, a);
    const stubB = accountStub(E, b);
    expect((await stubA.allot(`lost-${crypto.randomUUID()}`, "ADDITIONAL_ALLOTMENT", 2_500)).ok).toBe(true);
    expect((await stubB.allot(`lost-${crypto.randomUUID()}`, "ALLOTMENT_WITHDRAWAL", 10_000)).ok).toBe(true);
    const failed = await stubA.setPiStatus(viaApi.json.piId, "FAILED", { eventId: `lost-${crypto.randomUUID()}`, source: "api", reason: "crash test" });
    expect(failed.ok && failed.released).toBe(true);
    // A reservation whose commit happened but whose finalize crashed, and one whose commit never ran.
    const committed = await reservation(a, 7_000);
    expect((await stubA.commitPi(committed.piId, committed.paymentId, 7_000)).ok).toBe(true);
    const orphan = await reservation(b, 1_000);
    // An account registered in D1 whose first allotment never got projected.
    const c = account({ tenantId: a.tenantId });
    await db.insert(fundsAccounts).values({ ...c, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() }).run();
    expect((await accountStub(E, c).allot(`lost-${crypto.randomUUID()}`, "INITIAL_ALLOTMENT", 4_200)).ok).toBe(true);

    // Stale before the sweep.
    expect((await rowOf(a))!.available).not.toBe((await stubA.snapshot()).available);
    expect((await summaryOf(owner.token, a.tenantId)).map((i) => i.headOfAccount)).not.toContain(c.headOfAccount);

    await runFiscalSweep(null, E);

    // Re-projection is fanned out through the fiscal queue: wait for it to land.
    const [ta, tb, tc] = await vi.waitFor(async () => [await expectConverged(a), await expectConverged(b), await expectConverged(c)], { timeout: 15_000, interval: 100 });
    expect(ta).toMatchObject({ allotted: 102_500, committed: 7_000, available: 95_500 });
    expect(tb).toMatchObject({ allotted: 50_000, withdrawn: 10_000, committed: 0, available: 40_000 });
    expect(tc).toMatchObject({ allotted: 4_200, available: 4_200 });
    const summary = await summaryOf(owner.token, a.tenantId);
    expect(summary).toHaveLength(3);
    expect(summary.find((i) => i.headOfAccount === a.headOfAccount)).toMatchObject({ allotted: 1025, committed: 70, available: 955 });

    // PI states copied from the objects; the finalized reservation sent; the orphan dropped and tombstoned.
    await vi.waitFor(async () => expect(await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, viaApi.json.piId)).get()).toMatchObject({ status: "FAILED", live: 0 }), { timeout: 10_000 });
    const fin = await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, committed.piId)).get();
    expect(fin).toMatchObject({ status: "INITIATED", headOfAccount: a.headOfAccount, ssuCode: a.ssuCode });
    expect(await db.select().from(fiscalMessages).where(eq(fiscalMessages.id, committed.messageId)).get()).toMatchObject({ piId: committed.piId, type: "disburse" });
    await vi.waitFor(async () => expect((await sandbox("GET", `/ifix/__sandbox/messages/${committed.messageId}`)).status).toBe(200), { timeout: 10_000, interval: 100 });
    expect(await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, orphan.piId)).get()).toBeUndefined();
    expect(await stubB.commitPi(orphan.piId, orphan.paymentId, 1_000)).toMatchObject({ ok: false, code: "ABANDONED" });

    // A second sweep changes nothing.
    await runFiscalSweep(null, E);
    await new Promise((r) => setTimeout(r, 1_500));
    await expectConverged(a);
    expect((await call("GET", `/v1/payment-instructions/${committed.piId}`, { token: owner.token })).json.status).toBe("INITIATED");
  });

  it("a young reservation is left to its request", async () => {
    const a = account();
    await allot(owner.token, a, "INITIAL_ALLOTMENT", 10);
    const young = await reservation(a, 100, 1_000);
    await runFiscalSweep(null, E);
    expect((await db.select().from(paymentInstructions).where(eq(paymentInstructions.piId, young.piId)).get())?.status).toBe("RESERVED");
    await db.delete(paymentInstructions).where(eq(paymentInstructions.piId, young.piId)).run();
  });
});
