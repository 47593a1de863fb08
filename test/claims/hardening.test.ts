import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { call, expectError, type TestClient } from "../helpers/gateway";
import { clearFaults } from "../helpers/sandbox";
import {
  assamConfig,
  assamScript,
  claimBody,
  claimRow,
  clearAssamScript,
  db,
  forceQueued,
  portalCounts,
  putSampleCatalogue,
  runClaimsConsumer,
  setupClient,
  waitForStatuses,
} from "./helpers";
import { faultyD1 } from "./d1-faults";
import { createDb } from "../../src/storage/db";
import { submitClaims, type ClaimInput } from "../../src/domain/claims/submit";
import { claimDeliveries } from "../../src/storage/schema/claim-deliveries";
import { alerts } from "../../src/storage/schema/alerts";
import type { Env } from "../../src/env";

let client: TestClient;
let other: TestClient;

beforeAll(async () => {
  await putSampleCatalogue();
  client = await setupClient();
  other = await setupClient();
});
afterEach(async () => {
  await clearFaults();
  await clearAssamScript();
  await assamConfig({ immediateDecision: false, pendingPolls: 0 });
});

const asInput = (b: ReturnType<typeof claimBody>, schedule: "now" | "cutoff" = "now"): ClaimInput => ({
  claimId: b.claimId,
  ashaId: b.ashaId,
  period: b.period,
  verifiedBy: b.verifiedBy,
  activities: b.activities.map((a) => ({
    code: a.code,
    count: a.count,
    amountPaise: "amount" in a && a.amount !== undefined ? a.amount * 100 : undefined,
  })),
  schedule,
});
const post = (body: unknown, c: TestClient = client) => call("POST", "/v1/claims", { token: c.token, body });

/** Posts claims whose every send is dropped before the portal sees it and whose status reads fail: each ends FAILED, ambiguously. */
async function failAmbiguously(...bodies: ReturnType<typeof claimBody>[]) {
  const ids = bodies.map((b) => b.claimId);
  await assamScript([
    { on: "submit", ids, drop: true, times: -1 },
    { on: "status", ids, status: 503, times: -1 },
  ]);
  for (const b of bodies) expect((await post(b)).status).toBe(202);
  await waitForStatuses(ids, ["FAILED"], 20_000);
}

describe("issue 11: POST /v1/claims in one D1 batch plus one queue send", () => {
  it("a new claim costs one D1 batch (no read before it) and one queue send; a conflict one follow-up read", async () => {
    const counted = faultyD1(env.DB);
    let sends = 0;
    const e = {
      ...env,
      DB: counted,
      CLAIMS_DELIVERY: {
        sendBatch: (m: Iterable<MessageSendRequest>, o?: QueueSendBatchOptions) => (sends++, env.CLAIMS_DELIVERY.sendBatch(m, o)),
        send: () => Promise.reject(new Error("unused")),
      },
    } as unknown as Env;
    const ctx = { env: e, db: createDb(counted), ownerId: client.clientId, requestId: "trips" };
    await submitClaims(ctx, [asInput(claimBody({ schedule: "cutoff" }), "cutoff")]); // warms this isolate's catalogue copy
    const before = { ...counted.trips };
    const fresh = claimBody();
    const [out] = await submitClaims(ctx, [asInput(fresh)]);
    expect("httpStatus" in out && out.httpStatus).toBe(202);
    expect(counted.trips.batches - before.batches).toBe(1);
    expect(counted.trips.statements - before.statements).toBe(0);
    expect(sends).toBe(1);
    // The answer is the row as written.
    expect("claim" in out && out.claim).toMatchObject({ claimId: fresh.claimId, status: "QUEUED", attempts: 0, deliveries: [], totalAmount: 700 });

    // Same ASHA and month, another claimId: the insert finds the month taken; one follow-up read says so.
    const mid = { ...counted.trips };
    const [dup] = await submitClaims(ctx, [asInput(claimBody({ ashaId: fresh.ashaId }))]);
    expect("error" in dup && dup.error.code).toBe("DUPLICATE_PERIOD_CLAIM");
    expect(counted.trips.batches - mid.batches).toBe(2);
    expect(sends).toBe(1);
  });

  it("500 claims: one D1 batch of two statements, five queue sends", async () => {
    const counted = faultyD1(env.DB);
    const bodies = Array.from({ length: 500 }, () => claimBody({ schedule: "cutoff", period: "2025-09" }));
    const ctx = { env: env as unknown as Env, db: createDb(counted), ownerId: client.clientId, requestId: "trips-500" };
    const out = await submitClaims(
      ctx,
      bodies.map((b) => asInput(b, "cutoff")),
    );
    expect(out.every((o) => "httpStatus" in o && o.httpStatus === 202)).toBe(true);
    expect(counted.trips).toEqual({ batches: 1, statements: 0 });
  });

  it("a catalogue version stored in this isolate applies to the next claim at once", async () => {
    const v = {
      version: `C-${crypto.randomUUID().slice(0, 8)}`,
      effectiveFrom: "2024-06",
      activities: [{ code: "HBNC_VISIT", name: "HBNC", amount: 111 }],
    };
    expect((await post(claimBody({ period: "2024-06", schedule: "cutoff", activities: [{ code: "HBNC_VISIT", count: 1 }] }))).status).toBe(422);
    expect((await call("PUT", "/v1/admin/catalogue", { admin: true, body: v })).status).toBe(201);
    const after = await post(claimBody({ period: "2024-06", schedule: "cutoff", activities: [{ code: "HBNC_VISIT", count: 2 }] }));
    expect(after.json).toMatchObject({ catalogueVersion: v.version, totalAmount: 222 });
  });
});

describe("the catalogue cached per isolate", () => {
  it("a version stored by another isolate applies within 10 s", async () => {
    const { cachedCatalogue, invalidateCatalogue } = await import("../../src/domain/claims/catalogue");
    const { catalogueVersions } = await import("../../src/storage/schema/catalogue-versions");
    invalidateCatalogue();
    const t = Date.now();
    const before = (await cachedCatalogue(db(), t)).length;
    // Another isolate stores a version: this one does not hear of it.
    await db()
      .insert(catalogueVersions)
      .values({
        version: `X-${crypto.randomUUID().slice(0, 8)}`,
        effectiveFrom: "2023-01",
        activities: [],
        contentHash: "x",
        createdAt: new Date(t).toISOString(),
        createdBy: "test",
      });
    expect(await cachedCatalogue(db(), t + 9_999)).toHaveLength(before);
    expect(await cachedCatalogue(db(), t + 10_000)).toHaveLength(before + 1);
    invalidateCatalogue();
  });
});

describe("issue 15 item 5: a repeated claimId in a batch that loses a race", () => {
  it("answers both occurrences 409 without another client's claim, never claim: undefined", async () => {
    const contested = claimBody();
    // Another client's request writes the same claimId just before this batch writes.
    const racing = faultyD1(env.DB, {
      beforeBatch: async () => {
        expect((await post(contested, other)).status).toBe(202);
      },
    });
    const out = await submitClaims({ env: env as unknown as Env, db: createDb(racing), ownerId: client.clientId, requestId: "race" }, [
      asInput(contested),
      asInput(contested),
    ]);
    for (const o of out) {
      expect("error" in o && o.error.code).toBe("IDEMPOTENCY_CONFLICT");
      expect("claim" in o).toBe(false);
      expect(JSON.stringify(o)).not.toContain(contested.ashaId);
    }
  });
});

describe("issue 11: a claim acknowledged with 202 reaches the portal at once", () => {
  it("a failed sendBatch at intake is retried: the claim is delivered without waiting for the sweep", async () => {
    let failed = 0;
    const flaky = {
      ...env,
      CLAIMS_DELIVERY: {
        send: (m: unknown, o?: QueueSendOptions) => env.CLAIMS_DELIVERY.send(m, o),
        sendBatch: async (m: Iterable<MessageSendRequest>, o?: QueueSendBatchOptions) => {
          if (failed++ === 0) throw new Error("queue temporarily unavailable");
          return env.CLAIMS_DELIVERY.sendBatch(m, o);
        },
        metrics: () => env.CLAIMS_DELIVERY.metrics(),
      },
    } as unknown as Env;
    const body = claimBody();
    const [out] = await submitClaims({ env: flaky, db: db(), ownerId: client.clientId, requestId: "flaky-queue" }, [asInput(body)]);
    expect("httpStatus" in out && out.httpStatus).toBe(202);
    await waitForStatuses([body.claimId], ["PENDING"], 5_000);
  });

  it("a caller that submits a never-delivered QUEUED claim again gets it sent again (a send lost at intake)", async () => {
    const body = claimBody();
    const ctx = { env: env as unknown as Env, db: db(), ownerId: client.clientId, requestId: "lost-send" };
    const [first] = await submitClaims({ ...ctx, skipEnqueue: true }, [asInput(body)]);
    expect("httpStatus" in first && first.httpStatus).toBe(202);
    // The same claim again, a while later: 200 with the recorded claim, and its queue message again.
    const [again] = await submitClaims({ ...ctx, now: Date.now() + 11_000 }, [asInput(body)]);
    expect("httpStatus" in again && again.httpStatus).toBe(200);
    await waitForStatuses([body.claimId], ["PENDING"], 5_000);
  });

  it("a consumer that fails after taking the lease (its outcome write) leaves the claim to the message's redelivery, not to the sweep", async () => {
    const body = claimBody({ schedule: "cutoff" });
    expect((await post(body)).status).toBe(202);
    await forceQueued([body.claimId], "lease-race");
    const msg = { type: "deliver", claimId: body.claimId, dispatchId: "lease-race" };
    let failed = false;
    const outcomeWrite = (sqls: string[]) => sqls.some((s) => s.includes("claim_deliveries"));
    const broken = { ...env, DB: faultyD1(env.DB, { shouldFail: (sqls) => !failed && outcomeWrite(sqls) && (failed = true) }) } as unknown as Env;
    const first = await runClaimsConsumer([msg], broken, ["redelivered-1"]);
    expect(first.retryMessages.map((m) => m.msgId)).toEqual(["redelivered-1"]);
    // The queue redelivers the same message (same id).
    await runClaimsConsumer([msg], env as unknown as Env, ["redelivered-1"]);
    expect((await claimRow(body.claimId))!.status).toBe("PENDING");
    expect((await portalCounts([body.claimId]))[body.claimId]).toMatchObject({ creates: 1, conflicts: 0 });
  });
});

describe("issue 15 item 1: a claim that failed ambiguously keeps its month", () => {
  it("the portal recorded it but every answer was lost: a second claimId for that ASHA and month is refused", async () => {
    const first = claimBody();
    await assamScript([{ on: "submit", ids: [first.claimId], afterRecord: true, drop: true, times: -1 }]);
    expect((await post(first)).status).toBe(202);
    await waitForStatuses([first.claimId], ["FAILED", "PENDING", "ACCEPTED"], 20_000);
    const second = claimBody({ ashaId: first.ashaId });
    const e = expectError(await post(second), 409, "DUPLICATE_PERIOD_CLAIM");
    expect(e.details[0]).toMatchObject({ claimId: first.claimId });
    expect((await portalCounts([second.claimId]))[second.claimId].posts).toBe(0);
  }, 30_000);

  it("before giving up, the portal's status is read: it has the claim, so the claim takes the portal's status", async () => {
    const body = claimBody();
    await assamScript([{ on: "submit", ids: [body.claimId], afterRecord: true, drop: true, times: -1 }]);
    expect((await post(body)).status).toBe(202);
    await waitForStatuses([body.claimId], ["PENDING", "ACCEPTED"], 20_000);
    const row = (await claimRow(body.claimId))!;
    expect(row).toMatchObject({ attempts: 8, holdsMonth: true, receipt: expect.stringMatching(/^REQ-/) });
  }, 30_000);

  it("a claim that FAILED ambiguously holds the month; a new claim for it asks the portal, which does not know the first: the month is freed", async () => {
    const first = claimBody();
    // Every send dropped before the portal saw it, and the status reads fail too: nothing is settled.
    await failAmbiguously(first);
    expect(await claimRow(first.claimId)).toMatchObject({ holdsMonth: true, maybeRecorded: true, failureCode: "DELIVERY_FAILED" });
    // While the portal cannot answer, the month stays held.
    expectError(await post(claimBody({ ashaId: first.ashaId })), 409, "DUPLICATE_PERIOD_CLAIM");
    await clearAssamScript();
    // Now it answers 404 (it never recorded the first): the new claim takes the month.
    const second = claimBody({ ashaId: first.ashaId });
    expect((await post(second)).status).toBe(202);
    expect(await claimRow(first.claimId)).toMatchObject({ status: "FAILED", holdsMonth: false });
    expect((await claimRow(first.claimId))!.errors.map((e) => e.code)).toContain("NOT_AT_PORTAL");
  }, 30_000);

  it("…and when the portal does have the first one, the first takes its status and the new claim is refused", async () => {
    const first = claimBody();
    await assamScript([
      { on: "submit", ids: [first.claimId], afterRecord: true, drop: true, times: -1 },
      { on: "status", ids: [first.claimId], drop: true, times: -1 },
    ]);
    expect((await post(first)).status).toBe(202);
    await waitForStatuses([first.claimId], ["FAILED"], 20_000);
    await clearAssamScript();
    const e = expectError(await post(claimBody({ ashaId: first.ashaId })), 409, "DUPLICATE_PERIOD_CLAIM");
    // The sandbox decides at the first status read: the first claim is ACCEPTED now.
    expect(e.details[0]).toMatchObject({ claimId: first.claimId, status: "ACCEPTED" });
    expect(await claimRow(first.claimId)).toMatchObject({ status: "ACCEPTED", holdsMonth: true });
  }, 30_000);

  it("an operator resolves an ambiguously FAILED claim (audited): not_recorded frees the month, recorded makes it PENDING", async () => {
    const made = [claimBody(), claimBody()];
    await failAmbiguously(...made);
    const [a, b] = made.map((m) => m.claimId);
    const ashaA = (await claimRow(a))!.ashaId;
    expectError(
      await call("POST", `/v1/admin/claims/${a}/resolve`, {
        token: client.token,
        body: { resolution: "not_recorded", reason: "checked with the portal team" },
      }),
      403,
      "FORBIDDEN",
    );
    expectError(
      await call("POST", `/v1/admin/claims/${a}/resolve`, { admin: true, body: { resolution: "maybe", reason: "x" } }),
      400,
      "VALIDATION_FAILED",
    );
    const freed = await call("POST", `/v1/admin/claims/${a}/resolve`, {
      admin: true,
      body: { resolution: "not_recorded", reason: "portal team: no such submission" },
    });
    expect(freed.status).toBe(200);
    expect(freed.json.status).toBe("FAILED");
    expect((await claimRow(a))!.holdsMonth).toBe(false);
    expectError(
      await call("POST", `/v1/admin/claims/${a}/resolve`, { admin: true, body: { resolution: "not_recorded", reason: "again" } }),
      409,
      "INVALID_STATE",
    );
    expect((await post(claimBody({ ashaId: ashaA }))).status).toBe(202);

    const recorded = await call("POST", `/v1/admin/claims/${b}/resolve`, {
      admin: true,
      body: { resolution: "recorded", reason: "portal team: it is there" },
    });
    expect(recorded.status).toBe(200);
    expect(recorded.json.status).toBe("PENDING");
    const audit = await call("GET", `/v1/admin/audit?action=claim.resolve&targetId=${a}`, { admin: true });
    expect(audit.json.items).toHaveLength(1);
    expect(audit.json.items[0]).toMatchObject({
      before: { status: "FAILED", holdsMonth: true },
      after: { resolution: "not_recorded", reason: "portal team: no such submission" },
    });
  }, 40_000);
});

describe("concurrent operator decisions on one claim: one applies, and only it is audited", () => {
  it("five resolutions of one ambiguously FAILED claim at once: one 200, four 409, one audit row, one note", async () => {
    const b = claimBody();
    await failAmbiguously(b);
    // Each read the claim as FAILED and holding its month; the change must still apply once only
    // (before: every one applied, each appending its note and its audit row).
    const answers = await Promise.all(
      ["a", "b", "c", "d", "e"].map((k) =>
        call("POST", `/v1/admin/claims/${b.claimId}/resolve`, { admin: true, body: { resolution: "not_recorded", reason: `operator ${k}` } }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409, 409]);
    const audit = await call("GET", `/v1/admin/audit?action=claim.resolve&targetId=${b.claimId}`, { admin: true });
    expect(audit.json.items).toHaveLength(1);
    const notes = (await claimRow(b.claimId))!.errors.filter((e) => e.code === "RESOLVED_NOT_RECORDED");
    expect(notes).toHaveLength(1);
  }, 30_000);
});

describe("issue 15 item 2: Retry-After on every 5xx; other 4xx fail at once", () => {
  it("a 500 with Retry-After waits that long", async () => {
    const body = claimBody({ schedule: "cutoff" });
    await post(body);
    await forceQueued([body.claimId], "r500");
    await assamScript([{ on: "submit", ids: [body.claimId], status: 500, retryAfter: "9" }]);
    const started = Date.now();
    await runClaimsConsumer([{ type: "deliver", claimId: body.claimId, dispatchId: "r500" }]);
    const row = (await claimRow(body.claimId))!;
    expect(row.status).toBe("QUEUED");
    expect(row.nextAttemptAt! - started).toBeGreaterThanOrEqual(9_000);
  });

  it("a 403 (a firewall, say) fails the claim at once with a clear error and raises an alert", async () => {
    const body = claimBody({ schedule: "cutoff" });
    await post(body);
    await forceQueued([body.claimId], "r403");
    await assamScript([{ on: "submit", ids: [body.claimId], status: 403, body: { error: "forbidden" } }]);
    await runClaimsConsumer([{ type: "deliver", claimId: body.claimId, dispatchId: "r403" }]);
    const row = (await claimRow(body.claimId))!;
    expect(row.status).toBe("FAILED");
    expect(row.attempts).toBe(1);
    expect(row.errors[0].code).toBe("PORTAL_REFUSED");
    expect(row.errors[0].message).toContain("403");
    const raised = await db()
      .select()
      .from(alerts)
      .where(and(eq(alerts.subject, "assam")))
      .all();
    expect(raised.some((a) => a.kind === "portal_refused")).toBe(true);
    // A definite refusal: the portal did not take the claim, so the month is free for a corrected one.
    expect(row.holdsMonth).toBe(false);
    expect((await post(claimBody({ ashaId: body.ashaId, schedule: "cutoff" }))).status).toBe(202);
  });

  it("a 415 and a 404 on submit are refusals too; a 408 or a 429 is retried", async () => {
    for (const [status, expected] of [
      [415, "FAILED"],
      [404, "FAILED"],
      [408, "QUEUED"],
      [429, "QUEUED"],
    ] as const) {
      const body = claimBody({ schedule: "cutoff" });
      await post(body);
      await forceQueued([body.claimId], `r${status}`);
      await assamScript([{ on: "submit", ids: [body.claimId], status, body: {} }]);
      await runClaimsConsumer([{ type: "deliver", claimId: body.claimId, dispatchId: `r${status}` }]);
      expect([status, (await claimRow(body.claimId))!.status]).toEqual([status, expected]);
    }
  });
});

describe("issue 15 item 3: a claim's status never moves backwards", () => {
  it("refresh of an ACCEPTED claim that the portal reads as PENDING stays ACCEPTED", async () => {
    await assamConfig({ immediateDecision: true });
    const body = claimBody();
    await post(body);
    await waitForStatuses([body.claimId], ["ACCEPTED"]);
    await assamScript([
      { on: "status", ids: [body.claimId], status: 200, body: { submission_id: body.claimId, status: "PENDING", receipt: "R", errors: [] } },
    ]);
    const r = await call("POST", `/v1/claims/${body.claimId}/refresh`, { token: client.token });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe("ACCEPTED");
    expect((await claimRow(body.claimId))!.status).toBe("ACCEPTED");
  });
});

describe("issue 15 item 7: poll rows do not grow without end", () => {
  it("polls that change nothing are counted on the claim, not each written as a row", async () => {
    const body = claimBody();
    await post(body);
    await waitForStatuses([body.claimId], ["PENDING"]);
    await assamConfig({ pendingPolls: 1000 });
    const { pollClaim } = await import("../../src/domain/claims/delivery");
    for (let i = 0; i < 5; i++)
      expect((await pollClaim(env as unknown as Env, db(), body.claimId, { from: ["PENDING"], maxWaitMs: 1000 })).step).not.toBe("error");
    const rows = await db()
      .select()
      .from(claimDeliveries)
      .where(and(eq(claimDeliveries.claimId, body.claimId), eq(claimDeliveries.operation, "poll")))
      .all();
    expect(rows.length).toBeLessThanOrEqual(1);
    expect((await claimRow(body.claimId))!.polls).toBe(5);
  });
});
