import type { Env } from "../env";
import { createDb } from "../storage/db";
import { deadLetters } from "../storage/schema/dead-letters";
import { createLogger } from "../lib/logger";
import { redact } from "../lib/redact";

/** What a dead-lettered message looks like when a consumer gives up on purpose. */
export interface DeadLetterEnvelope {
  queue: string;
  reason: string;
  body: { type: string; [key: string]: unknown };
}

const subjectOf = (body: Record<string, unknown>): string | null => {
  for (const k of ["claimId", "messageId", "piId", "deliveryId", "id"]) if (typeof body[k] === "string") return body[k] as string;
  return null;
};

/**
 * Records every dead letter for operators (inspect, replay). Messages arrive either wrapped by a
 * consumer that gave up ({queue, reason, body}) or raw, from the queue-level backstop.
 * Idempotent on the message id: a redelivered dead letter is recorded once.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  const log = createLogger({ queue: batch.queue });
  for (const msg of batch.messages) {
    const raw = msg.body as Record<string, unknown>;
    const wrapped = raw && typeof raw === "object" && "body" in raw && "queue" in raw ? (raw as unknown as DeadLetterEnvelope) : null;
    const body = (wrapped ? wrapped.body : raw) as Record<string, unknown>;
    const kind = typeof body?.type === "string" ? body.type : "unknown";
    await db
      .insert(deadLetters)
      .values({
        id: typeof raw?.deadLetterId === "string" ? raw.deadLetterId : msg.id,
        queue: wrapped?.queue ?? "unknown (queue retries exhausted)",
        kind,
        subjectId: body ? subjectOf(body) : null,
        body: redact(body ?? null),
        reason: wrapped?.reason ?? "queue retries exhausted",
        createdAt: new Date().toISOString(),
      })
      .onConflictDoNothing();
    log.warn("dead letter recorded", { kind, subjectId: body ? subjectOf(body) : null });
    msg.ack();
  }
}

/** Sends a message to the dead-letter queue with the reason a consumer gave up. */
export async function deadLetter(env: Env, queue: string, body: DeadLetterEnvelope["body"], reason: string, deadLetterId?: string) {
  await env.DEAD_LETTERS.send({ queue, reason, body, deadLetterId: deadLetterId ?? crypto.randomUUID() });
}
