import { createApp } from "./http/app";
import type { Env } from "./env";
import { handleQueue } from "./queues";
import { handleScheduled } from "./cron";
import { RoundTripTrace, tracedEnv } from "./lib/round-trips";

export { FundsAccount } from "./durable-objects/funds-account";
export { FundsRegistry } from "./durable-objects/funds-registry";
export { RatePacer } from "./durable-objects/rate-pacer";
export { TokenBroker } from "./durable-objects/token-broker";

const app = createApp();

/**
 * TRACE_ROUND_TRIPS=1 (the benchmark's round-trip pass only): each response says how many round
 * trips to each kind of binding the request made before answering, in `X-Round-Trips`.
 */
async function tracedFetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const trace = new RoundTripTrace();
  const res = await app.fetch(request, tracedEnv(env, trace), ctx);
  trace.close();
  const out = new Response(res.body, res);
  out.headers.set("X-Round-Trips", trace.summary());
  return out;
}

export default {
  fetch: (request, env, ctx) => (env.TRACE_ROUND_TRIPS === "1" ? tracedFetch(request, env, ctx) : app.fetch(request, env, ctx)),
  queue: (batch, env, ctx) => handleQueue(batch, env, ctx),
  scheduled: (controller, env, ctx) => handleScheduled(controller, env, ctx),
} satisfies ExportedHandler<Env, unknown>;

export { app };
