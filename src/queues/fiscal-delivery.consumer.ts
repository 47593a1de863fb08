import type { Env } from "../env";
import { deliverFiscalMessage } from "../domain/fiscal/delivery";
import { createLogger, errorKind } from "../lib/logger";

const isDelivery = (b: unknown): b is { type: "fiscal.deliver"; messageId: string; attempt: number } =>
  !!b && typeof b === "object" && (b as { type?: unknown }).type === "fiscal.deliver" && typeof (b as { messageId?: unknown }).messageId === "string" &&
  Number.isInteger((b as { attempt?: unknown }).attempt);

/**
 * Delivers fiscal messages to iFIX. Retries are scheduled by the delivery itself (a new queue
 * message with its own delay and the claimed attempt count); a crash mid-way is recovered by the
 * queue's redelivery or the sweep's lease check, and claims keep every path idempotent.
 */
export async function consumeFiscalDelivery(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const log = createLogger({ queue: batch.queue });
  await Promise.all(
    batch.messages.map(async (msg) => {
      if (!isDelivery(msg.body)) {
        log.warn("unknown fiscal queue message dropped");
        msg.ack();
        return;
      }
      try {
        await deliverFiscalMessage(env, msg.body.messageId, msg.body.attempt);
        msg.ack();
      } catch (err) {
        log.error("fiscal delivery crashed", { kind: errorKind(err), messageId: msg.body.messageId });
        msg.retry({ delaySeconds: 5 });
      }
    }),
  );
}
