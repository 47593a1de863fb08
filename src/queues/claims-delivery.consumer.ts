import type { Env } from "../env";
import { createDb } from "../storage/db";
import { createLogger, errorKind } from "../lib/logger";
import { ClaimsQueueMessage } from "../domain/claims/messages";
import { deliverClaim, pollClaim, MAX_INLINE_WAIT_MS } from "../domain/claims/delivery";
import { processCutoffPage } from "../domain/claims/schedule";
import { enqueue } from "../domain/claims/submit";
import { toDelaySeconds } from "../domain/claims/backoff";

/**
 * CLAIMS_DELIVERY consumer: delivers claims, polls PENDING ones and walks cut-off pages. Messages of
 * a batch run concurrently (the RatePacer keeps the portal's pace, however many batches run). Every
 * message is acknowledged once handled; retries are new messages with their own delay, so the
 * attempt count and backoff live in D1, not in the queue. A message whose handler throws (D1
 * unavailable, say) is retried by the queue, and dead-lettered by it after max_retries.
 */
export async function consumeClaimsDelivery(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const db = createDb(env.DB);
  const log = createLogger({ queue: batch.queue });
  await Promise.all(
    batch.messages.map(async (msg) => {
      const parsed = ClaimsQueueMessage.safeParse(msg.body);
      if (!parsed.success) {
        log.warn("unreadable claims message dropped");
        msg.ack();
        return;
      }
      const m = parsed.data;
      try {
        if (m.type === "deliver") await deliverClaim(env, db, m);
        else if (m.type === "poll") {
          const r = await pollClaim(env, db, m.claimId, { from: ["PENDING"], maxWaitMs: MAX_INLINE_WAIT_MS });
          // No slot soon: ask again later rather than hold the consumer.
          if (r.step === "paced" && r.result?.kind === "paced") await enqueue(env, [{ body: m, delaySeconds: toDelaySeconds(r.result.waitMs) }]);
        } else await processCutoffPage(env, db, m);
        msg.ack();
      } catch (err) {
        log.error("claims message failed", { type: m.type, kind: errorKind(err) });
        msg.retry({ delaySeconds: Math.min(60 * 2 ** Math.min(msg.attempts, 6), 3600) });
      }
    }),
  );
}
