import type { Env } from "../env";
import { createDb } from "../storage/db";
import { deliverFiscalMessage } from "../domain/fiscal/delivery";
import { reprojectByKey } from "../domain/funds/reconcile";
import { createLogger, errorKind } from "../lib/logger";

type FiscalQueueMessage =
  | { type: "fiscal.deliver"; messageId: string; attempt: number; requestId?: string }
  | { type: "funds.reproject"; tenantId: string; headOfAccount: string; ssuCode: string };

function parse(b: unknown): FiscalQueueMessage | null {
  if (!b || typeof b !== "object") return null;
  const m = b as Record<string, unknown>;
  if (m.type === "fiscal.deliver" && typeof m.messageId === "string" && Number.isInteger(m.attempt)) return m as FiscalQueueMessage;
  if (m.type === "funds.reproject" && typeof m.tenantId === "string" && typeof m.headOfAccount === "string" && typeof m.ssuCode === "string") {
    return m as FiscalQueueMessage;
  }
  return null;
}

/**
 * The fiscal queue: deliveries of signed messages to iFIX, and re-projections of funds accounts
 * fanned out by the sweep. Retries of a delivery are scheduled by the delivery itself (a new queue
 * message with its own delay and the claimed attempt count); a crash mid-way is recovered by the
 * queue's redelivery or the sweep's lease check, and claims keep every path idempotent.
 */
export async function consumeFiscalDelivery(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const log = createLogger({ queue: batch.queue });
  await Promise.all(
    batch.messages.map(async (msg) => {
      const body = parse(msg.body);
      if (!body) {
        log.warn("unknown fiscal queue message dropped");
        msg.ack();
        return;
      }
      try {
        if (body.type === "fiscal.deliver") await deliverFiscalMessage(env, body.messageId, body.attempt, typeof body.requestId === "string" ? body.requestId.slice(0, 128) : undefined);
        else await reprojectByKey(env, createDb(env.DB), body);
        msg.ack();
      } catch (err) {
        log.error("fiscal queue message failed", { kind: errorKind(err), type: body.type });
        msg.retry({ delaySeconds: 5 });
      }
    }),
  );
}
