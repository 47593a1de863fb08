// The baseline for the overhead benchmark: a bare Worker that forwards GET /v1/health/states to the
// UMANG getStates op with the envelope filled in and returns the portal's body untouched. No auth,
// no logging, no D1: what "a proxy in the same runtime" costs at the least. Started with a LIMITER
// binding (the overhead scenario's second pass-through), it first asks that rate-limiting binding, as
// the gateway asks CLIENT_RATE_LIMITER for every client call: what the local binding alone costs.
import { getStatesCall } from "./umang-call.js";

let trkr = 0;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== "/v1/health/states") return new Response("not found", { status: 404 });
    if (env.LIMITER && !(await env.LIMITER.limit({ key: "bench" })).success) return new Response("rate limited", { status: 429 });
    const call = getStatesCall(env, ++trkr);
    const upstream = await fetch(call.url, call.init);
    return new Response(upstream.body, { status: upstream.status, headers: { "Content-Type": "application/json" } });
  },
};
