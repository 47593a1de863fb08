import { beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { call } from "../helpers/gateway";
import { createDb } from "../../src/storage/db";
import { accountStub } from "../../src/domain/funds/accounts";
import { setPaymentStatusAsOperator } from "../../src/console/ops/payments";
import { ADMIN_PRINCIPAL, type Principal } from "../../src/http/context";
import type { Env } from "../../src/env";
import { account, allot, createTenantClient, pi, piBody } from "./helpers";

const E = env as unknown as Env;
const db = createDb(env.DB);
let owner: Awaited<ReturnType<typeof createTenantClient>>;

beforeAll(async () => {
  owner = await createTenantClient(["funds:write", "funds:read"], ["*"], "console owner");
});

const principal = (c: { clientId: string }, scopes: string[], tenants: string[] = ["*"]): Principal => ({
  kind: "client",
  id: c.clientId,
  name: "c",
  scopes,
  tenants,
});

/**
 * A funded account and a PI of ₹40. `hold`: its disburse is not handed to delivery, so the PI stays
 * unacknowledged by iFIX for as long as the test needs (a delivery racing the test's FAILED would
 * decide the answer by chance: refused once iFIX has it, or while its post is in flight).
 */
async function pending(hold = false) {
  const acc = account();
  await allot(owner.token, acc, "INITIAL_ALLOTMENT", 100);
  if (hold) await accountStub(E, acc).testHooks({ holdHandoff: true });
  const id = (await pi(owner.token, piBody(acc, 40))).json.piId as string;
  return { acc, id };
}

describe("the console's operator action follows the JSON API's rules (issue 10, item 5)", () => {
  it("an ops client cannot fail any PI from the console; nothing is released", async () => {
    const { acc, id } = await pending();
    const ops = await createTenantClient(["ops"], ["*"], "console ops");
    // Before: an ops session failed any PI and released its funds.
    await expect(setPaymentStatusAsOperator(E, db, id, "FAILED", "ops says so", { principal: principal(ops, ["ops"]) }, "req")).rejects.toMatchObject(
      { code: "FORBIDDEN" },
    );
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 4000 });
  });

  it("a client with funds:write may move only its own PIs, within its tenants", async () => {
    const { acc, id } = await pending(true);
    const stranger = await createTenantClient(["funds:write", "ops"], ["*"], "not the owner");
    await expect(
      setPaymentStatusAsOperator(E, db, id, "FAILED", "not mine", { principal: principal(stranger, ["funds:write", "ops"]) }, "req"),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(
      setPaymentStatusAsOperator(E, db, id, "FAILED", "narrowed", { principal: principal(owner, ["funds:write"], ["pb.other"]) }, "req"),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
    const ok = await setPaymentStatusAsOperator(E, db, id, "FAILED", "owner cancels", { principal: principal(owner, ["funds:write"]) }, "req");
    expect(ok).toEqual({ piId: id, before: "INITIATED", after: "FAILED" });
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0 });
    // Failed before iFIX saw it: its disburse is never sent.
    expect((await accountStub(E, acc).getPi(id))!.delivery!.state).toBe("cancelled");
    await accountStub(E, acc).testHooks({ holdHandoff: false });
  });

  it("once iFIX acknowledged the disburse, only the admin (with the console's required reason) fails it", async () => {
    const { acc, id } = await pending();
    await vi.waitFor(
      async () => expect((await call("GET", `/v1/payment-instructions/${id}`, { admin: true })).json.delivery.deliveryStatus).toBe("DELIVERED"),
      { timeout: 15_000, interval: 100 },
    );
    await expect(
      setPaymentStatusAsOperator(E, db, id, "FAILED", "owner wants it back", { principal: principal(owner, ["funds:write"]) }, "req"),
    ).rejects.toMatchObject({ code: "INVALID_STATE" });
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 4000 });
    const ok = await setPaymentStatusAsOperator(
      E,
      db,
      id,
      "FAILED",
      "IFMS confirms not paid",
      { principal: ADMIN_PRINCIPAL, actor: "ops@example.gov.in" },
      "req",
    );
    expect(ok.after).toBe("FAILED");
    expect(await accountStub(E, acc).snapshot()).toMatchObject({ committed: 0 });
    const log = (await call("GET", `/v1/payment-instructions/${id}`, { admin: true })).json.log;
    expect(log.at(-1)).toMatchObject({ source: "admin", to: "FAILED", accepted: true, reason: "IFMS confirms not paid" });
  });
});
