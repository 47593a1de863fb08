import type { Env } from "../env";
import { QUEUES, isQueue } from "./names";
import { consumeClaimsDelivery } from "./claims-delivery.consumer";
import { consumeFiscalDelivery } from "./fiscal-delivery.consumer";
import { consumeWebhooks } from "./webhooks.consumer";
import { consumeDeadLetterBackstop, consumeDeadLetters } from "./dead-letters.consumer";

/** Dispatches a batch to its queue's consumer. */
export async function handleQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  if (isQueue(batch.queue, QUEUES.deadLetterBackstop)) return consumeDeadLetterBackstop(batch, env);
  if (isQueue(batch.queue, QUEUES.deadLetters)) return consumeDeadLetters(batch, env);
  if (isQueue(batch.queue, QUEUES.claimsDelivery)) return consumeClaimsDelivery(batch, env, ctx);
  if (isQueue(batch.queue, QUEUES.fiscalDelivery)) return consumeFiscalDelivery(batch, env, ctx);
  if (isQueue(batch.queue, QUEUES.webhooks)) return consumeWebhooks(batch, env, ctx);
  // An unknown queue is a deployment mistake: keep the messages (retry) rather than drop them.
  batch.retryAll({ delaySeconds: 300 });
}
