import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { RoundTripTrace, tracedEnv } from "../../src/lib/round-trips";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { clientDirectory } from "../../src/domain/client-directory";
import { call, createClient, expectError, GATEWAY } from "../helpers/gateway";
import { claimBody, claimRow, db, putSampleCatalogue, setupClient, waitForStatuses } from "../claims/helpers";
import { viewOf } from "../../src/domain/claims/ledger";

const parse = (s: string) =>
  Object.fromEntries(
    s
      .split(";")
      .map((kv) => kv.split("="))
      .map(([k, v]) => [k, Number(v)]),
  );

describe("round-trip tracing (the benchmark's instrument)", () => {
  it("counts sequential calls per binding kind, and parallel calls once", async () => {
    const trace = new RoundTripTrace();
    const e = tracedEnv(env, trace);
    // D1: a prepared statement, then a batch of two (proxies unwrapped for the runtime).
    await e.DB.prepare("SELECT ?1 AS x").bind(1).first();
    await e.DB.batch([e.DB.prepare("SELECT 1"), e.DB.prepare("SELECT ?1").bind(2)]);
    // KV and a queue send at the same time: one sequential step, two calls.
    await Promise.all([e.TOKEN_CACHE.get("round-trip-test"), e.DEAD_LETTERS.send({ type: "round-trip-test" }, { delaySeconds: 43200 })]);
    // A Durable Object RPC.
    await e.FUNDS_ACCOUNT.get(e.FUNDS_ACCOUNT.idFromName("round-trip-test")).snapshot();
    trace.close();
    await e.TOKEN_CACHE.get("after-close");
    expect(parse(trace.summary())).toEqual({ total: 4, d1: 2, do: 1, kv: 1, queue: 1, ratelimit: 0, calls: 5 });
  });

  it("a warm authenticated read makes one D1 round trip and no other (the caller check reads nothing)", async () => {
    const c = await createClient(["claims:read"]);
    const traced = { ...env, TRACE_ROUND_TRIPS: "1" };
    const get = async () => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`${GATEWAY}/v1/claims/00000000-0000-4000-8000-000000000000`, { headers: { "X-API-Key": c.apiKey } }),
        traced,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(404);
      return parse(res.headers.get("x-round-trips")!);
    };
    clientDirectory.clear();
    expect((await get()).d1).toBe(2); // cold: the key's client is read once

    expect(await get()).toMatchObject({ total: 2, d1: 1, do: 0, kv: 0, queue: 0, ratelimit: 1 });
  });

  it("a warm read of a claim with deliveries is one D1 round trip, with the same answer as before (issue 11)", async () => {
    // Before: the claim, then its deliveries, one after the other (d1=2).
    await putSampleCatalogue();
    const c = await setupClient();
    const body = claimBody();
    expect((await call("POST", "/v1/claims", { token: c.token, body })).status).toBe(202);
    await waitForStatuses([body.claimId], ["PENDING"]);
    // The answer as the two reads built it, byte for byte.
    const view = await viewOf(db(), (await claimRow(body.claimId))!);
    expect(view.deliveries.length).toBeGreaterThan(0);
    const traced = async (id: string) => {
      const ctx = createExecutionContext();
      const headers = { Authorization: `Bearer ${c.token}` };
      const res = await worker.fetch(new Request(`${GATEWAY}/v1/claims/${id}`, { headers }), { ...env, TRACE_ROUND_TRIPS: "1" }, ctx);
      await waitOnExecutionContext(ctx);
      return { text: await res.text(), trips: parse(res.headers.get("x-round-trips")!) };
    };
    await traced(body.claimId); // warms the caller's directory entry
    for (const id of [body.claimId, body.claimId.toUpperCase()]) {
      const res = await traced(id);
      expect(res.text).toBe(JSON.stringify(view));
      expect(res.trips).toMatchObject({ total: 2, d1: 1, ratelimit: 1 });
    }
    // Another client's claim is a 404 like a missing one.
    const other = await createClient(["claims:read"]);
    expectError(await call("GET", `/v1/claims/${body.claimId}`, { token: other.token }), 404, "NOT_FOUND");
  });

  it("a batch of 500 claims is one D1 batch and one step of five queue sends side by side (issue 11)", async () => {
    // Before: the five sendBatch calls of 100 went one after another (queue=5).
    await putSampleCatalogue();
    const c = await setupClient();
    const claims = Array.from({ length: 500 }, () => claimBody());
    // Warm: the caller's entry and the catalogue (cached for 10 s; the test before may have taken longer).
    const warm = claimBody();
    expect((await call("POST", "/v1/claims/batch", { token: c.token, body: { claims: [warm] } })).status).toBe(200);
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${GATEWAY}/v1/claims/batch`, {
        method: "POST",
        headers: { Authorization: `Bearer ${c.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ claims }),
      }),
      { ...env, TRACE_ROUND_TRIPS: "1" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    const trips = parse(res.headers.get("x-round-trips")!);
    expect(trips).toMatchObject({ d1: 1, queue: 1 });
    expect(trips.calls).toBeGreaterThanOrEqual(trips.total + 4); // the five sends, counted once as a step
    await waitForStatuses(
      [warm, ...claims].map((b) => b.claimId),
      ["PENDING", "ACCEPTED"],
      60_000,
    );
  });

  it("is off unless TRACE_ROUND_TRIPS=1: no header on ordinary responses", async () => {
    const c = await createClient(["claims:read"]);
    const res = await call("GET", "/v1/claims/00000000-0000-4000-8000-000000000000", { token: c.token });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-round-trips")).toBeNull();
  });
});
