import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { getUpstreamToken } from "../../src/durable-objects/token-broker";
import { GATEWAY } from "../helpers/gateway";
import { bridgeClient, lastBody, sandboxStats, sha, umang, withoutUmangSession } from "./helpers";

/**
 * The gateway's UMANG session token kept in the isolate in front of KV (issue 11): a warm bridge op
 * reads nothing before calling UMANG, and a token the upstream refused is never served from it again.
 */

const KV_KEY = "upstream-token:umang";
const parse = (s: string) => Object.fromEntries(s.split(";").map((kv) => kv.split("=").map((x, i) => (i ? Number(x) : x))));

/** A bridge op through the Worker's fetch with every binding counted (the benchmark's instrument). */
async function tracedPatient() {
  const { token } = await bridgeClient();
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${GATEWAY}/v1/health/patient`, { headers: { Authorization: `Bearer ${token}` } }),
    { ...env, TRACE_ROUND_TRIPS: "1" },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  expect(res.status, await res.clone().text()).toBe(200);
  return parse(res.headers.get("x-round-trips")!);
}

withoutUmangSession();

describe("the session token in the isolate", () => {
  it("a warm bridge op reads no KV and calls no Durable Object before UMANG", async () => {
    // Before: kv=1 on every bridge op (the token read from KV each time).
    expect(await tracedPatient()).toMatchObject({ do: 1 }); // cold: the broker fetches the session
    expect(await tracedPatient()).toMatchObject({ total: 1, kv: 0, do: 0, d1: 0, ratelimit: 1 });
    expect(await tracedPatient()).toMatchObject({ kv: 0, do: 0 });
    expect((await sandboxStats()).sessionCalls).toBe(1);
  });

  it("a token UMANG refuses is dropped: the op retries once with the broker's new token, which later ops use", async () => {
    await tracedPatient();
    const old = (await env.TOKEN_CACHE.get<{ token: string }>(KV_KEY, "json"))!.token;
    await umang("POST", "/__sandbox/sessions/expire");

    await tracedPatient(); // refused once, renewed through the broker, retried
    const fresh = (await env.TOKEN_CACHE.get<{ token: string }>(KV_KEY, "json"))!.token;
    expect(fresh).not.toBe(old);
    expect((await sandboxStats()).sessionCalls).toBe(2);

    expect(await tracedPatient()).toMatchObject({ kv: 0, do: 0 });
    expect((await lastBody("patientApi")).authorization).toBe(await sha(fresh));
  });

  it("a refused token is not served again, even when KV still holds it (eventual consistency)", async () => {
    await umang("PUT", "/__sandbox/config", { sessionTtlSeconds: 2 });
    const old = await getUpstreamToken(env, "umang");
    expect(await getUpstreamToken(env, "umang")).toBe(old);
    const fresh = await getUpstreamToken(env, "umang", { rejected: old });
    expect(fresh).not.toBe(old);
    expect(await getUpstreamToken(env, "umang")).toBe(fresh);

    // Once `fresh` has aged out here, another location's KV still answers the refused token: this
    // isolate asks the broker for its successor instead of serving it.
    await new Promise((r) => setTimeout(r, 1_900));
    await env.TOKEN_CACHE.put(KV_KEY, JSON.stringify({ token: old, expiresAt: Date.now() + 600_000, issuedAt: Date.now() }));
    const next = await getUpstreamToken(env, "umang");
    expect(next).not.toBe(old);
    expect(await getUpstreamToken(env, "umang")).toBe(next);
    expect((await sandboxStats()).sessionCalls).toBe(3);
  });
});
