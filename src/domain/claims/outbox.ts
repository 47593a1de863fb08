import type { Env } from "../../env";
import { createLogger } from "../../lib/logger";
import type { ClaimsQueueMessage, WebhookQueueMessage } from "./messages";

/** Delays between the tries of one send to a queue: a blip in Queues must not leave a claim to the sweep. */
const SEND_RETRIES_MS = [0, 50, 250];

const chunk = <T>(xs: T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

/**
 * Sends messages to a queue, 100 per sendBatch (the Queues limit), the parts side by side (a batch
 * of 500 claims is one round trip, not five in a row), each part tried up to three times.
 * Answers how many messages could not be sent: their rows keep a lease deadline, so the sweep re-sends
 * them; nothing is lost, only late.
 */
async function sendAll<T>(queue: Queue<T>, messages: { body: T; delaySeconds?: number }[], what: string): Promise<number> {
  const sendPart = async (part: { body: T; delaySeconds?: number }[]): Promise<number> => {
    for (const wait of SEND_RETRIES_MS) {
      if (wait) await new Promise((r) => setTimeout(r, wait));
      try {
        await queue.sendBatch(part.map((m) => (m.delaySeconds ? { body: m.body, delaySeconds: m.delaySeconds } : { body: m.body })));
        return 0;
      } catch {
        /* tried again below */
      }
    }
    createLogger({ queue: what }).error("queue send failed after retries; the sweep will re-send", { count: part.length });
    return part.length;
  };
  const unsent = await Promise.all(chunk(messages, 100).map(sendPart));
  return unsent.reduce((a, b) => a + b, 0);
}

/** Hands claim-queue messages to CLAIMS_DELIVERY (see sendAll). */
export const enqueueClaims = (env: Env, messages: { body: ClaimsQueueMessage; delaySeconds?: number }[]) =>
  sendAll(env.CLAIMS_DELIVERY as Queue<ClaimsQueueMessage>, messages, "claims-delivery");

/** Hands webhook outbox rows to the WEBHOOKS queue (see sendAll); a row not sent is re-sent by the sweep. */
export const sendWebhooks = (env: Env, ids: string[], delaySeconds?: number) =>
  sendAll(
    env.WEBHOOKS as Queue<WebhookQueueMessage>,
    ids.map((id) => ({ body: { type: "claim-webhook" as const, id }, delaySeconds })),
    "webhooks",
  );
