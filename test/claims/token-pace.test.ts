import { afterEach, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { assam } from "./helpers";
import { fetchAssamToken } from "../../src/adapters/assam/token";
import { ASSAM_PACER } from "../../src/adapters/assam/pace";
import { PaceLanes, type RatePacer } from "../../src/durable-objects/rate-pacer";
import type { Env } from "../../src/env";

describe("the Assam token fetch and the pace (issue 15 item 6)", () => {
  // The test books the Assam pacer's lane far ahead; the files share one runtime, so it gives the
  // pacer back empty (its lanes live in memory) or every later delivery would wait behind the booking.
  afterEach(async () => {
    await runInDurableObject(env.RATE_PACER.get(env.RATE_PACER.idFromName(ASSAM_PACER)), (pacer: RatePacer) => {
      (pacer as unknown as { lanes: PaceLanes }).lanes = new PaceLanes();
    });
  });

  it("honours a refused grant: with no send slot within its wait, nothing is sent", async () => {
    const one = { ...env, ASSAM_MAX_RPS: "1" } as unknown as Env;
    const pacer = env.RATE_PACER.get(env.RATE_PACER.idFromName(ASSAM_PACER));
    // Book the (single) lane 75 s ahead.
    await pacer.reserve({ lane: "deliver", rps: 1, n: 70, maxWaitMs: 120_000 });
    const before = (await assam("GET", "/__sandbox/stats")).json.tokenIssues;
    const reports: unknown[] = [];
    await expect(fetchAssamToken(one, (r) => void reports.push(r))).rejects.toMatchObject({ code: "UPSTREAM_UNAVAILABLE" });
    expect((await assam("GET", "/__sandbox/stats")).json.tokenIssues).toBe(before);
    expect(reports).toEqual([]);
  });
});
