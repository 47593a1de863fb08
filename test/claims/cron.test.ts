import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { and, eq, inArray } from "drizzle-orm";
import { call, type TestClient } from "../helpers/gateway";
import { assamConfig, claimBody, claimRow, db, drainClaimsQueue, portalCounts, putSampleCatalogue, setupClient, waitForStatuses } from "./helpers";
import worker from "../../src/index";
import { claims } from "../../src/storage/schema/claims";
import { claimReconciliations } from "../../src/storage/schema/claim-reconciliations";
import { currentIstPeriod, lastEndedPeriod, periodEnded } from "../../src/domain/claims/periods";
import { cutoffPageQuery, processCutoffPage, reconcile } from "../../src/domain/claims/schedule";
import type { Env } from "../../src/env";

let client: TestClient;
beforeAll(async () => {
  await putSampleCatalogue();
  client = await setupClient();
});

async function fire(cron: string, scheduledTime: number) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron, scheduledTime }), env as unknown as Env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("cron: monthly cut-off and the 15-minute sweep (CONTRACT §8)", () => {
  it("'period ended' is computed in IST: at 20:30 UTC on the last day the month is over", () => {
    const cutoff = Date.UTC(2026, 0, 31, 20, 30); // 2026-02-01 02:00 IST
    expect(currentIstPeriod(cutoff)).toBe("2026-02");
    expect(lastEndedPeriod(cutoff)).toBe("2026-01");
    expect(periodEnded("2026-01", cutoff)).toBe(true);
    const before = Date.UTC(2026, 0, 31, 18, 29); // 23:59 IST on 31 January
    expect(periodEnded("2026-01", before)).toBe(false);
  });

  it("one cut-off message works through several pages, then hands the rest on at its cursor", async () => {
    // A period no other test uses (the files of a worker share storage; a page takes every SCHEDULED
    // claim up to its period), with amounts given, so no catalogue is involved.
    const period = "1998-06";
    const bodies = Array.from({ length: 250 }, () =>
      claimBody({ schedule: "cutoff", period, activities: [{ code: "HBNC_VISIT", count: 1, amount: 100 }] }),
    );
    const res = await call("POST", "/v1/claims/batch", { token: client.token, body: { claims: bodies } });
    expect(res.json.results.every((r: { httpStatus: number }) => r.httpStatus === 202)).toBe(true);
    const ids = bodies.map((b) => b.claimId).sort();
    // Deliveries go to the real queue; the continuation is kept here, to be run by the test. The
    // order of what is queued is recorded: a page's dispatch id for its deliveries, "next" for the continuation.
    const continued: unknown[] = [];
    const order: string[] = [];
    const e = {
      ...env,
      CLAIMS_DELIVERY: {
        sendBatch: (m: Iterable<MessageSendRequest>, o?: QueueSendBatchOptions) => {
          const list = [...m];
          for (const x of list) order.push((x.body as { dispatchId: string }).dispatchId);
          return env.CLAIMS_DELIVERY.sendBatch(list, o);
        },
        send: async (m: unknown) => {
          order.push("next");
          continued.push(m);
        },
      },
    } as unknown as Env;
    const first = { type: "cutoff-page" as const, runId: `pp-${crypto.randomUUID()}`, upTo: period, after: null, page: 0 };
    expect(await processCutoffPage(e, db(), first, 2)).toBe(200);
    expect(continued).toEqual([{ ...first, after: ids[199], afterPeriod: period, page: 2 }]);
    // The continuation goes ahead of the last page's deliveries, so that it is never last in the
    // queue: last, it waited out the batch timeout every 1,000 claims (2 s each in the cut-off bench).
    const runs = order.filter((x, i) => i === 0 || x !== order[i - 1]);
    expect(runs).toEqual([`${first.runId}:0`, "next", `${first.runId}:1`]);
    expect(order).toHaveLength(201);
    expect(await processCutoffPage(e, db(), continued[0] as typeof first, 2)).toBe(50);
    expect(continued).toHaveLength(1); // the last page was not full: nothing more to hand on
    const rows = await db()
      .select({ id: claims.id, dispatchId: claims.dispatchId })
      .from(claims)
      .where(and(eq(claims.ownerId, client.clientId), eq(claims.period, period)))
      .all();
    expect(rows).toHaveLength(250);
    const byPage = (p: number) => rows.filter((r) => r.dispatchId === `${first.runId}:${p}`).length;
    expect([byPage(0), byPage(1), byPage(2)]).toEqual([100, 100, 50]);
    await waitForStatuses(ids, ["PENDING", "ACCEPTED"], 30_000);
  });

  it("a cut-off page is an index seek, not a read and sort of every SCHEDULED claim left", async () => {
    // With the cursor on id alone across periods, SQLite read every SCHEDULED claim up to the
    // period and sorted them for each page of 100: 35,000 claims took 1.6-2 s per ten pages.
    const msg = { type: "cutoff-page" as const, runId: "plan", upTo: "2026-10", after: "x", afterPeriod: "2026-09", page: 3 };
    for (const m of [msg, { ...msg, createdBefore: "2026-11-01T00:00:00.000Z" }, { ...msg, after: null, afterPeriod: undefined }]) {
      const q = cutoffPageQuery(db(), m).toSQL();
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
        .bind(...q.params)
        .all<{ detail: string }>();
      const details = plan.results.map((r) => r.detail).join("\n");
      expect(details).toContain("USING INDEX claims_status_period_idx");
      expect(details).not.toContain("TEMP B-TREE");
    }
  });

  it("the walk covers several periods in (period, id) order; a message with the old cursor (id alone) starts again from the first page", async () => {
    const periods = ["1997-01", "1997-02"];
    const bodies = periods.flatMap((period) =>
      Array.from({ length: 120 }, () => claimBody({ schedule: "cutoff", period, activities: [{ code: "HBNC_VISIT", count: 1, amount: 100 }] })),
    );
    for (let i = 0; i < bodies.length; i += 120) {
      const res = await call("POST", "/v1/claims/batch", { token: client.token, body: { claims: bodies.slice(i, i + 120) } });
      expect(res.json.results.every((r: { httpStatus: number }) => r.httpStatus === 202)).toBe(true);
    }
    const inOrder = periods.flatMap((period) =>
      bodies
        .filter((b) => b.period === period)
        .map((b) => b.claimId)
        .sort(),
    );
    const continued: { after: string | null; afterPeriod?: string; page: number }[] = [];
    const e = {
      ...env,
      CLAIMS_DELIVERY: {
        sendBatch: (m: Iterable<MessageSendRequest>, o?: QueueSendBatchOptions) => env.CLAIMS_DELIVERY.sendBatch(m, o),
        send: async (m: (typeof continued)[0]) => void continued.push(m),
      },
    } as unknown as Env;
    const first = { type: "cutoff-page" as const, runId: `pp-${crypto.randomUUID()}`, upTo: "1997-02", after: null, page: 0 };
    expect(await processCutoffPage(e, db(), first, 1)).toBe(100);
    expect(continued[0]).toEqual({ ...first, after: inOrder[99], afterPeriod: "1997-01", page: 1 });
    // A message queued before the upgrade: a cursor on id alone. It walks from the first page again
    // and finds the 140 claims still SCHEDULED (20 of January before its id, so none is skipped).
    const legacy = { ...first, runId: `${first.runId}-old`, after: inOrder[99], page: 1 };
    expect(await processCutoffPage(e, db(), legacy, 10)).toBe(140);
    // The first walk's continuation finds nothing left.
    expect(await processCutoffPage(e, db(), continued[0] as unknown as typeof first, 10)).toBe(0);
    const rows = await db()
      .select({ id: claims.id, status: claims.status, dispatchId: claims.dispatchId })
      .from(claims)
      .where(and(eq(claims.ownerId, client.clientId), inArray(claims.period, periods)))
      .all();
    expect(rows).toHaveLength(240);
    expect(rows.filter((r) => r.status === "SCHEDULED")).toEqual([]);
    const byRun = (prefix: string) => rows.filter((r) => r.dispatchId?.startsWith(`${prefix}:`)).length;
    expect([byRun(first.runId), byRun(legacy.runId)]).toEqual([100, 140]);
    await waitForStatuses(inOrder, ["PENDING", "ACCEPTED"], 30_000);
  });

  it("the sweep polls PENDING claims (paced, through the queue) and keeps the reconciliation", async () => {
    const bodies = [claimBody({ period: "2025-10" }), claimBody({ period: "2025-10" })];
    for (const b of bodies) expect((await call("POST", "/v1/claims", { token: client.token, body: b })).status).toBe(202);
    const ids = bodies.map((b) => b.claimId);
    await waitForStatuses(ids, ["PENDING"]);
    // Ten minutes later the sweep asks for polls; the portal has decided by then.
    await fire("*/15 * * * *", Date.now() + 11 * 60_000);
    const final = await waitForStatuses(ids, ["ACCEPTED"]);
    expect([...final.values()]).toEqual(["ACCEPTED", "ACCEPTED"]);
    expect((await portalCounts(ids))[ids[0]].polls).toBe(1);

    await reconcile(db(), Date.now(), ["2025-10"]);
    const kept = await db()
      .select()
      .from(claimReconciliations)
      .where(and(eq(claimReconciliations.period, "2025-10"), eq(claimReconciliations.ownerId, client.clientId)))
      .all();
    expect(kept).toEqual([expect.objectContaining({ status: "ACCEPTED", claimCount: 2, totalPaise: 140_000 })]);
    const report = await call("GET", "/v1/reports/claims?period=2025-10", { token: client.token });
    expect(report.json.reconciledAt).not.toBeNull();
    expect(report.json.statuses.find((s: { status: string }) => s.status === "ACCEPTED")).toEqual({
      status: "ACCEPTED",
      count: 2,
      totalAmount: 1400,
    });
  });

  it("the cut-off queues every SCHEDULED claim of ended periods — 250 of them, over three sendBatch pages — and none of an open period", async () => {
    await assamConfig({ immediateDecision: true });
    try {
      const bodies = Array.from({ length: 250 }, (_, i) => claimBody({ schedule: "cutoff", period: i % 2 ? "2026-01" : "2025-12" }));
      const res = await call("POST", "/v1/claims/batch", { token: client.token, body: { claims: bodies } });
      expect(res.json.results.every((r: { httpStatus: number }) => r.httpStatus === 202)).toBe(true);
      const open = claimBody({ schedule: "cutoff", period: currentIstPeriod() });
      expect((await call("POST", "/v1/claims", { token: client.token, body: open })).status).toBe(202);
      const ids = bodies.map((b) => b.claimId);

      // The cron fires now: every ended period is queued, the current IST month is not.
      await fire("30 20 L * *", Date.now());
      const final = await waitForStatuses(ids, ["ACCEPTED"], 60_000);
      expect([...final.values()].filter((s) => s === "ACCEPTED")).toHaveLength(250);
      expect((await claimRow(open.claimId))!.status).toBe("SCHEDULED");
      const counts = await portalCounts(ids);
      expect(ids.filter((id) => counts[id].creates === 1)).toHaveLength(250);
      // Running it again finds nothing left to queue: no second send of anything.
      await fire("30 20 L * *", Date.now());
      await drainClaimsQueue();
      const again = await portalCounts(ids);
      expect(ids.filter((id) => again[id].posts === counts[id].posts)).toHaveLength(250);
      const left = await db()
        .select({ id: claims.id })
        .from(claims)
        .where(and(eq(claims.ownerId, client.clientId), eq(claims.status, "SCHEDULED")))
        .all();
      expect(left.map((r) => r.id)).toEqual([open.claimId]);

      // Safety net: when next month's cut-off has passed without running, the sweep starts it.
      const { recoverMissedCutoff } = await import("../../src/domain/claims/schedule");
      expect(await recoverMissedCutoff(env as unknown as Env, db(), Date.now())).toBe(false);
      expect(await recoverMissedCutoff(env as unknown as Env, db(), Date.now() + 40 * 86_400_000)).toBe(true);
      const moved = await waitForStatuses([open.claimId], ["QUEUED", "PENDING", "ACCEPTED", "REJECTED"], 10_000);
      expect(moved.get(open.claimId)).not.toBe("SCHEDULED");
    } finally {
      await assamConfig({ immediateDecision: false });
    }
  }, 90_000);
});
