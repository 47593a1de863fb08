import { createApp } from "./http/app";
import type { Env } from "./env";
import { handleQueue } from "./queues";
import { handleScheduled } from "./cron";

export { FundsAccount } from "./durable-objects/funds-account";
export { FundsRegistry } from "./durable-objects/funds-registry";
export { RatePacer } from "./durable-objects/rate-pacer";
export { TokenBroker } from "./durable-objects/token-broker";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  queue: (batch, env, ctx) => handleQueue(batch, env, ctx),
  scheduled: (controller, env, ctx) => handleScheduled(controller, env, ctx),
} satisfies ExportedHandler<Env, unknown>;

export { app };
