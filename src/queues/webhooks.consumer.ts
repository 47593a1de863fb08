import type { Env } from "../env";

// Placeholder until claim webhooks land (issue 3).
export async function consumeWebhooks(batch: MessageBatch<unknown>, _env: Env, _ctx: ExecutionContext): Promise<void> {
  batch.retryAll({ delaySeconds: 60 });
}
