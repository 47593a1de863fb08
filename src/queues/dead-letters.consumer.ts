import type { Env } from "../env";
import { createDb, type Db } from "../storage/db";
import { deadLetters } from "../storage/schema/dead-letters";
import { createLogger, errorKind, type Logger } from "../lib/logger";
import { redact, redactString } from "../lib/redact";

/** What a dead-lettered message looks like when a consumer gives up on purpose. */
export interface DeadLetterEnvelope {
  queue: string;
  reason: string;
  body: { type: string; [key: string]: unknown };
}

type DeadLetterRecord = typeof deadLetters.$inferInsert;

const subjectOf = (body: Record<string, unknown>): string | null => {
  for (const k of ["claimId", "messageId", "piId", "deliveryId", "id"]) if (typeof body[k] === "string") return body[k] as string;
  return null;
};

/**
 * A queue message (wrapped by a consumer that gave up, {queue, reason, body}, or raw from a
 * queue-level backstop) as the row operators see. Redacted here, before it is kept anywhere.
 */
function recordOf(msg: Message<unknown>): DeadLetterRecord {
  const raw = msg.body as Record<string, unknown>;
  const wrapped = raw && typeof raw === "object" && "body" in raw && "queue" in raw ? (raw as unknown as DeadLetterEnvelope) : null;
  const body = (wrapped ? wrapped.body : raw) as Record<string, unknown>;
  return {
    id: typeof raw?.deadLetterId === "string" ? raw.deadLetterId : msg.id,
    queue: wrapped?.queue ?? "unknown (queue retries exhausted)",
    kind: typeof body?.type === "string" ? body.type : "unknown",
    subjectId: body && typeof body === "object" ? subjectOf(body) : null,
    body: redact(body ?? null),
    reason: wrapped?.reason ? redactString(String(wrapped.reason)) : "queue retries exhausted",
    createdAt: new Date().toISOString(),
  };
}

/** Idempotent on the dead letter's id: a redelivered one is recorded once. */
const insert = (db: Db, rec: DeadLetterRecord) => db.insert(deadLetters).values(rec).onConflictDoNothing();

/** What a log line says of a dead letter: enough to find its subject, never its body. */
const summary = (rec: DeadLetterRecord) => ({ deadLetterId: rec.id, queue: rec.queue, kind: rec.kind, subjectId: rec.subjectId });

/**
 * Backoff for a dead letter D1 would not take: 30 s doubling to 1 h. With `max_retries = 12` on this
 * queue (wrangler.jsonc) a message is tried for about 6 hours before it moves to the backstop queue.
 */
export const deadLetterRetryDelaySeconds = (attempts: number): number => Math.min(3_600, 30 * 2 ** Math.max(0, attempts - 1));

/** The backstop's wait between attempts (the queue's longest delay) and how many it makes (wrangler.jsonc max_retries + 1). */
export const BACKSTOP_RETRY_DELAY_SECONDS = 43_200;
export const BACKSTOP_ATTEMPTS = 5;
/** How long a dead letter kept in KV (D1 unreachable for days) stays there for an operator. */
export const VAULT_TTL_SECONDS = 30 * 24 * 3_600;
export const VAULT_PREFIX = "dead-letter:";

/**
 * Records every dead letter for operators (inspect, replay). When D1 refuses a record the message is
 * retried on its own with backoff (the others in the batch are kept); after its retries it moves to
 * the backstop queue (consumeDeadLetterBackstop). Each successful batch also moves into D1 any dead
 * letters the backstop had to keep in KV.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  const log = createLogger({ queue: batch.queue });
  let recorded = 0;
  for (const msg of batch.messages) {
    const rec = recordOf(msg);
    try {
      await insert(db, rec);
    } catch (err) {
      const delaySeconds = deadLetterRetryDelaySeconds(msg.attempts);
      log.error("dead letter not recorded: D1 refused it; retrying", { ...summary(rec), attempt: msg.attempts, delaySeconds, error: errorKind(err) });
      msg.retry({ delaySeconds });
      continue;
    }
    recorded++;
    log.warn("dead letter recorded", summary(rec));
    msg.ack();
  }
  if (recorded > 0) await restoreFromVault(env, db, log);
}

/**
 * The dead-letter queue's own dead-letter queue: D1 refused a dead letter through all its retries.
 * Each attempt tries D1 again (recorded → done, and any copy in KV removed); while D1 still refuses,
 * the record (redacted) is kept in the DEAD_LETTER_VAULT KV namespace under `dead-letter:<id>` for
 * 30 days and the message waits 12 h for another try. Every failed attempt logs one error line
 * naming the dead letter (id, queue, kind, subject: what an operator needs to replay its subject from
 * the ledger) and where it is kept; the body itself is logged only when KV could not keep it either.
 */
export async function consumeDeadLetterBackstop(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  const log = createLogger({ queue: batch.queue });
  for (const msg of batch.messages) {
    const rec = recordOf(msg);
    const key = `${VAULT_PREFIX}${rec.id}`;
    try {
      await insert(db, rec);
      await env.DEAD_LETTER_VAULT?.delete(key).catch(() => undefined);
      log.warn("dead letter recorded late (after D1 was unavailable)", summary(rec));
      msg.ack();
      continue;
    } catch (err) {
      let vaulted = false;
      if (env.DEAD_LETTER_VAULT) {
        try {
          await env.DEAD_LETTER_VAULT.put(key, JSON.stringify(rec), { expirationTtl: VAULT_TTL_SECONDS, metadata: summary(rec) });
          vaulted = true;
        } catch {
          /* logged below, body and all */
        }
      }
      const last = msg.attempts >= BACKSTOP_ATTEMPTS;
      log.error("dead letter not in D1: kept outside it", {
        ...summary(rec),
        reason: rec.reason,
        error: errorKind(err),
        keptIn: vaulted ? `KV DEAD_LETTER_VAULT ${key}` : "this log line only",
        ...(vaulted ? {} : { body: rec.body }),
        attempt: msg.attempts,
        nextAttempt: last ? null : `in ${BACKSTOP_RETRY_DELAY_SECONDS} s`,
      });
      if (last) msg.ack();
      else msg.retry({ delaySeconds: BACKSTOP_RETRY_DELAY_SECONDS });
    }
  }
}

/** Moves dead letters the backstop kept in KV into D1 (at most 50 a batch), then drops them from KV. */
async function restoreFromVault(env: Env, db: Db, log: Logger): Promise<void> {
  const vault = env.DEAD_LETTER_VAULT;
  if (!vault) return;
  try {
    const { keys } = await vault.list({ prefix: VAULT_PREFIX, limit: 50 });
    for (const { name } of keys) {
      const rec = await vault.get<DeadLetterRecord>(name, "json");
      if (rec) await insert(db, rec);
      await vault.delete(name);
      if (rec) log.warn("dead letter restored from KV", summary(rec));
    }
  } catch (err) {
    // The next batch tries again; the records stay in KV meanwhile.
    log.warn("dead letters in KV not restored yet", { error: errorKind(err) });
  }
}

/** Sends a message to the dead-letter queue with the reason a consumer gave up. */
export async function deadLetter(env: Env, queue: string, body: DeadLetterEnvelope["body"], reason: string, deadLetterId?: string) {
  await env.DEAD_LETTERS.send({ queue, reason, body, deadLetterId: deadLetterId ?? crypto.randomUUID() });
}
