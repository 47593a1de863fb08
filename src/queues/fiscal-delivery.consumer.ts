import type { Env } from "../env";

// Placeholder until fiscal delivery lands (issue 5).
export async function consumeFiscalDelivery(batch: MessageBatch<unknown>, _env: Env, _ctx: ExecutionContext): Promise<void> {
  batch.retryAll({ delaySeconds: 60 });
}
