import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { RoundTripTrace, tracedEnv } from "../../src/lib/round-trips";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { clientDirectory } from "../../src/domain/client-directory";
import { call, createClient, GATEWAY } from "../helpers/gateway";

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

  it("is off unless TRACE_ROUND_TRIPS=1: no header on ordinary responses", async () => {
    const c = await createClient(["claims:read"]);
    const res = await call("GET", "/v1/claims/00000000-0000-4000-8000-000000000000", { token: c.token });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-round-trips")).toBeNull();
  });
});
