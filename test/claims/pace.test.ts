import { beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { call, type TestClient } from "../helpers/gateway";
import { assam, claimBody, forceQueued, portalCounts, putSampleCatalogue, runClaimsConsumer, setupClient, waitForStatuses } from "./helpers";
import { getUpstreamToken } from "../../src/durable-objects/token-broker";
import { PaceLanes, SlotSchedule } from "../../src/durable-objects/rate-pacer";
import { laneRates } from "../../src/adapters/assam/pace";
import { pollClaim } from "../../src/domain/claims/delivery";
import { db } from "./helpers";
import type { Env } from "../../src/env";

let client: TestClient;
beforeAll(async () => {
  await putSampleCatalogue();
  client = await setupClient();
});

/** The largest number of arrivals inside any 1,000 ms window. */
function maxInAnySecond(times: number[]): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < t.length; j++) {
    while (t[j] - t[i] >= 1000) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

/**
 * When each request for one of `ids` leaves the gateway (its Idempotency-Key): what pacing controls.
 * The sandbox's own arrival times are taken in the test runner's Node process, which also serves the
 * other test worker; under load it stalled long enough (twice in ten whole-suite runs) to take
 * requests sent 1.1 s apart in the same second. The pacer's 100 ms margin is for a network's jitter,
 * not for that.
 */
function recordSends(ids: string[]) {
  const own = new Set(ids);
  const sent: number[] = [];
  const realFetch = globalThis.fetch;
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const key = new Headers(init?.headers).get("Idempotency-Key");
    if (key && own.has(key)) sent.push(Date.now());
    return realFetch(input, init);
  });
  return { sent, restore: () => spy.mockRestore() };
}

describe("pacing toward the portal (ASSAM_MAX_RPS)", () => {
  it("the slot schedule never puts more than maxRps slots in any window", () => {
    const s = new SlotSchedule(1000);
    const slots: number[] = [];
    for (let i = 0; i < 50; i++) {
      const a = s.acquire(5, 60_000, 10_000 + i * 13);
      expect(a.granted).toBe(true);
      slots.push(10_000 + i * 13 + a.waitMs);
    }
    for (let i = 5; i < slots.length; i++) expect(slots[i] - slots[i - 5]).toBeGreaterThanOrEqual(1000);
    // Over the caller's limit: nothing reserved, the wait is reported.
    const refused = s.acquire(5, 100, 10_000);
    expect(refused.granted).toBe(false);
    expect(refused.waitMs).toBeGreaterThan(100);
    expect(s.acquire(5, 60_000, 10_000).waitMs).toBe(refused.waitMs);
  });

  it("lanes: polls get a tenth (at least 1/s), deliveries the rest plus the polls' idle share; together never more than the rate", () => {
    expect(laneRates(1)).toEqual({ deliver: 1, poll: 0 });
    expect(laneRates(5)).toEqual({ deliver: 4, poll: 1 });
    expect(laneRates(250)).toEqual({ deliver: 225, poll: 25 });
    const lanes = new PaceLanes();
    const t0 = 50_000;
    // Polls idle: a batch of 10 deliveries at 5/s gets 4 + 1 borrowed slots in the first window.
    const g = lanes.reserve({ lane: "deliver", rps: 4, n: 10, maxWaitMs: 60_000, borrow: { lane: "poll", rps: 1 } }, t0);
    expect(g.waits.filter((w) => w < 1_100)).toHaveLength(5);
    // A poll now waits at most one window for what was borrowed from it.
    const p = lanes.reserve({ lane: "poll", rps: 1, n: 1, maxWaitMs: 60_000 }, t0);
    expect(p.waits[0]).toBeLessThanOrEqual(1_100);
    // A poll storm fills only the polls' lane: deliveries still find their own slots at once.
    const storm = lanes.reserve({ lane: "poll", rps: 1, n: 30, maxWaitMs: 60_000 }, t0 + 10_000);
    expect(storm.waits.at(-1)).toBeGreaterThan(25_000);
    expect(lanes.reserve({ lane: "deliver", rps: 4, n: 1, maxWaitMs: 0, borrow: { lane: "poll", rps: 1 } }, t0 + 10_000).waits).toEqual([0]);
  });

  it("refreshes have their own share: a caller refreshing at its limit does not slow deliveries (issue 15 item 6)", async () => {
    const slow = { ...env, ASSAM_MAX_RPS: "5" } as unknown as Env;
    await getUpstreamToken(slow, "assam");
    // Twelve PENDING claims to refresh.
    const polled = Array.from({ length: 12 }, () => claimBody({ schedule: "cutoff" }));
    await call("POST", "/v1/claims/batch", { token: client.token, body: { claims: polled } });
    await forceQueued(
      polled.map((b) => b.claimId),
      "storm",
    );
    await runClaimsConsumer(polled.map((b) => ({ type: "deliver", claimId: b.claimId, dispatchId: "storm" })));
    await waitForStatuses(
      polled.map((b) => b.claimId),
      ["PENDING"],
    );
    const sent = Array.from({ length: 4 }, () => claimBody({ schedule: "cutoff" }));
    await call("POST", "/v1/claims/batch", { token: client.token, body: { claims: sent } });
    await forceQueued(
      sent.map((b) => b.claimId),
      "after-storm",
    );

    // The refresh storm takes every slot it can get for the next 3 s…
    const storm = Promise.all(polled.map((b) => pollClaim(slow, db(), b.claimId, { from: ["PENDING"], maxWaitMs: 3_000 })));
    await new Promise((r) => setTimeout(r, 50));
    // …while four deliveries go out.
    const started = Date.now();
    const sends = recordSends(sent.map((b) => b.claimId));
    try {
      await runClaimsConsumer(
        sent.map((b) => ({ type: "deliver", claimId: b.claimId, dispatchId: "after-storm" })),
        slow,
      );
    } finally {
      sends.restore();
    }
    await storm;
    expect(sends.sent).toHaveLength(4);
    expect(Math.max(...sends.sent) - started).toBeLessThan(1_500);
    // Each reached the portal (only this test's deliveries: earlier files' delayed retries may reach the sandbox meanwhile).
    const mine = new Set(sent.map((b) => b.claimId));
    const arrivals = (
      (await assam("GET", `/__sandbox/requests?since=${started}`)).json.requests as { at: number; path: string; key: string | null }[]
    ).filter((r) => r.path.endsWith("/submissions") && r.key !== null && mine.has(r.key));
    expect(arrivals).toHaveLength(4);
  });

  it("with ASSAM_MAX_RPS=5 the portal never sees more than 5 requests in any second, across concurrent consumers", async () => {
    const slow = { ...env, ASSAM_MAX_RPS: "5" } as unknown as Env;
    await getUpstreamToken(slow, "assam"); // the token fetch is outside the measured window
    const bodies = Array.from({ length: 20 }, () => claimBody({ schedule: "cutoff" }));
    const res = await call("POST", "/v1/claims/batch", { token: client.token, body: { claims: bodies } });
    expect(res.status).toBe(200);
    const ids = bodies.map((b) => b.claimId);
    await forceQueued(ids, "pace");
    const since = Date.now();
    const own = new Set(ids);
    const sends = recordSends(ids);
    // Two consumers at once, ten messages each.
    const msgs = ids.map((claimId) => ({ type: "deliver", claimId, dispatchId: "pace" }));
    try {
      await Promise.all([runClaimsConsumer(msgs.slice(0, 10), slow), runClaimsConsumer(msgs.slice(10), slow)]);
    } finally {
      sends.restore();
    }
    const sent = sends.sent;
    const final = await waitForStatuses(ids, ["PENDING"], 1_000);
    expect([...final.values()].filter((s) => s === "PENDING")).toHaveLength(20);
    expect(sent).toHaveLength(20);
    expect(maxInAnySecond(sent)).toBeLessThanOrEqual(5);
    // 20 requests at 5 a second take at least 3 seconds from first to last.
    expect(Math.max(...sent) - Math.min(...sent)).toBeGreaterThanOrEqual(3_000);
    // Each reached the portal once (only this test's submissions: other files' retries are paced at their own rate).
    const all = (await assam("GET", `/__sandbox/requests?since=${since}`)).json.requests as { at: number; path: string; key: string | null }[];
    expect(all.filter((r) => r.key !== null && own.has(r.key))).toHaveLength(20);
    const counts = await portalCounts(ids);
    expect(ids.every((id) => counts[id].creates === 1)).toBe(true);
  });
});
