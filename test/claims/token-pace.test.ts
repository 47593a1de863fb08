import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { assam } from "./helpers";
import { fetchAssamToken } from "../../src/adapters/assam/token";
import { ASSAM_PACER } from "../../src/adapters/assam/pace";
import type { Env } from "../../src/env";

// A file of its own: it leaves the Assam pacer's lane booked far ahead.
describe("the Assam token fetch and the pace (issue 15 item 6)", () => {
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
