import type { Env } from "../env";

// Placeholder until claims delivery lands (issue 3).
export async function consumeClaimsDelivery(batch: MessageBatch<unknown>, _env: Env, _ctx: ExecutionContext): Promise<void> {
  batch.retryAll({ delaySeconds: 60 });
}
