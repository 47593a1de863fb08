import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { accountStub } from "../../src/domain/funds/accounts";
import type { FundsAccount } from "../../src/durable-objects/funds-account";
import type { Env } from "../../src/env";
import { account } from "./helpers";

const E = env as unknown as Env;

describe("FundsAccount Durable Object", () => {
  it("1000 concurrent commits and releases against funds for 700: never below zero, each counted once", async () => {
    const acc = account();
    const stub = accountStub(E, acc);
    expect((await stub.allot("init", "INITIAL_ALLOTMENT", 700 * 333)).ok).toBe(true);
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => stub.commitPi(`pi-${i}`, `pay-${i}`, 333)));
    const ok = results.filter((r) => r.ok);
    expect(ok).toHaveLength(700);
    expect(await stub.snapshot()).toMatchObject({ committed: 700 * 333, available: 0 });
    // Release 100 of them, each FAILED three times at once: given back once each.
    const failed = ok.slice(0, 100).map((r) => (r.ok ? r.pi.piId : ""));
    await Promise.all(failed.flatMap((id) => [0, 1, 2].map((k) => stub.setPiStatus(id, "FAILED", { eventId: `${id}:${k}`, source: "callback" }))));
    expect(await stub.snapshot()).toMatchObject({ committed: 600 * 333, available: 100 * 333 });
    // A re-sent commit of a known PI is idempotent.
    expect(await stub.commitPi(failed[0], "pay-x", 333)).toMatchObject({ ok: true, duplicate: true });
    expect(await stub.snapshot()).toMatchObject({ available: 100 * 333 });
  });

  it("the balance rule holds in storage too: a write that would overdraw is refused by SQLite", async () => {
    const acc = account();
    const stub = accountStub(E, acc);
    await stub.allot("init", "INITIAL_ALLOTMENT", 100);
    await runInDurableObject(stub, async (_instance: FundsAccount, state) => {
      expect(() => state.storage.sql.exec("UPDATE account SET committed = 101 WHERE id = 1")).toThrow(/CHECK/i);
    });
    expect(await stub.snapshot()).toMatchObject({ allotted: 100, committed: 0, available: 100 });
  });

  it("seq rises with every change and only then", async () => {
    const stub = accountStub(E, account());
    const s0 = (await stub.snapshot()).seq;
    await stub.allot("a", "INITIAL_ALLOTMENT", 10);
    await stub.allot("a", "INITIAL_ALLOTMENT", 10); // duplicate txn: no change
    await stub.allot("b", "ALLOTMENT_WITHDRAWAL", 11); // refused: no change
    await stub.commitPi("p", "pay", 50); // refused: no change
    const s1 = (await stub.snapshot()).seq;
    expect(s1).toBe(s0 + 1);
    await stub.commitPi("q", "pay", 5);
    await stub.setPiStatus("q", "IN_PROCESS", { eventId: "e1", source: "api" });
    await stub.setPiStatus("q", "IN_PROCESS", { eventId: "e2", source: "api" }); // same status: logged, no change
    expect((await stub.snapshot()).seq).toBe(s1 + 2);
    expect((await stub.getPi("q"))!.log.map((l) => l.to)).toEqual(["INITIATED", "IN_PROCESS", "IN_PROCESS"]);
  });
});
