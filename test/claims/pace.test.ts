import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { call, type TestClient } from "../helpers/gateway";
import { assam, claimBody, forceQueued, portalCounts, putSampleCatalogue, runClaimsConsumer, setupClient, waitForStatuses } from "./helpers";
import { getUpstreamToken } from "../../src/durable-objects/token-broker";
import { SlotSchedule } from "../../src/durable-objects/rate-pacer";
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

  it("with ASSAM_MAX_RPS=5 the portal never sees more than 5 requests in any second, across concurrent consumers", async () => {
    const slow = { ...env, ASSAM_MAX_RPS: "5" } as unknown as Env;
    await getUpstreamToken(slow, "assam"); // the token fetch is outside the measured window
    const bodies = Array.from({ length: 20 }, () => claimBody({ schedule: "cutoff" }));
    const res = await call("POST", "/v1/claims/batch", { token: client.token, body: { claims: bodies } });
    expect(res.status).toBe(200);
    const ids = bodies.map((b) => b.claimId);
    await forceQueued(ids, "pace");
    const since = Date.now();
    // Two consumers at once, ten messages each.
    const msgs = ids.map((claimId) => ({ type: "deliver", claimId, dispatchId: "pace" }));
    await Promise.all([runClaimsConsumer(msgs.slice(0, 10), slow), runClaimsConsumer(msgs.slice(10), slow)]);
    const final = await waitForStatuses(ids, ["PENDING"], 1_000);
    expect([...final.values()].filter((s) => s === "PENDING")).toHaveLength(20);
    const arrivals = ((await assam("GET", `/__sandbox/requests?since=${since}`)).json.requests as { at: number; path: string }[]).map((r) => r.at);
    expect(arrivals.length).toBe(20);
    expect(maxInAnySecond(arrivals)).toBeLessThanOrEqual(5);
    // 20 requests at 5 a second take at least 3 seconds from first to last.
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThanOrEqual(3_000);
    const counts = await portalCounts(ids);
    expect(ids.every((id) => counts[id].creates === 1)).toBe(true);
  });
});
