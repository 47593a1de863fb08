import { sql } from "drizzle-orm";
import type { Env } from "../env";
import { createDb } from "../storage/db";
import { claims } from "../storage/schema/claims";
import { createLogger, errorKind } from "../lib/logger";
import { ClaimsQueueMessage } from "../domain/claims/messages";
import { deliverBatch, leaseMs, pollBatch } from "../domain/claims/delivery";
import { processCutoffPage } from "../domain/claims/schedule";
import { enqueueClaims } from "../domain/claims/outbox";
import { toDelaySeconds } from "../domain/claims/backoff";

/** A message whose handling failed (D1 unavailable, say) comes back after this many seconds, doubling per try. */
const FAILED_RETRY_SECONDS = 2;

/**
 * CLAIMS_DELIVERY consumer. The deliver messages of a batch are handled together (deliverBatch: one
 * lease, one pacer call, parallel sends, one outcome write); the poll messages together (one pacer
 * call, one write); cut-off pages one by one. Every message is acknowledged once handled: retries
 * are new messages with their own delay, so the attempt count and backoff live in D1, not in the queue.
 *
 * When handling fails (D1 unavailable, say), the messages go back to the queue for a quick retry,
 * and the claims this batch leased are released first, so that the redelivered message can take
 * them at once instead of leaving them to the sweep. When the release cannot be written either, the
 * retry waits for the lease to run out. Redelivered messages may send a claim again: the same bytes,
 * which the portal answers as a replay (seed 000 §3.5).
 */
export async function consumeClaimsDelivery(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const db = createDb(env.DB);
  const log = createLogger({ queue: batch.queue });
  const deliver: { msg: Message<unknown>; claimId: string; dispatchId: string }[] = [];
  const polls: { msg: Message<unknown>; claimId: string }[] = [];
  const pages: { msg: Message<unknown>; body: Extract<ClaimsQueueMessage, { type: "cutoff-page" }> }[] = [];
  for (const msg of batch.messages) {
    const parsed = ClaimsQueueMessage.safeParse(msg.body);
    if (!parsed.success) {
      log.warn("unreadable claims message dropped", { messageId: msg.id });
      msg.ack();
      continue;
    }
    const m = parsed.data;
    if (m.type === "deliver") deliver.push({ msg, claimId: m.claimId, dispatchId: m.dispatchId });
    else if (m.type === "poll") polls.push({ msg, claimId: m.claimId });
    else pages.push({ msg, body: m });
  }
  const retry = (msg: Message<unknown>, delaySeconds: number) => msg.retry({ delaySeconds: Math.min(3600, Math.max(1, delaySeconds)) });
  const quick = (msg: Message<unknown>) => FAILED_RETRY_SECONDS * 2 ** Math.min(Math.max(msg.attempts - 1, 0), 10);

  await Promise.all([
    (async () => {
      if (!deliver.length) return;
      const lease = crypto.randomUUID();
      try {
        const report = await deliverBatch(env, db, deliver, lease);
        for (const d of deliver) d.msg.ack();
        // One line per batch: what it did and where its time went (counts and ms only).
        log.info("claims batch delivered", { messages: deliver.length, leased: report.leased, ...nonZero(report.steps), ...report.ms });
      } catch (err) {
        log.error("claims delivery batch failed", { kind: errorKind(err), messages: deliver.length });
        const released = await releaseLease(
          db,
          lease,
          deliver.map((d) => d.claimId),
        );
        const leaseSeconds = Math.ceil(leaseMs(env, deliver.length) / 1000) + 1;
        for (const d of deliver) retry(d.msg, released ? quick(d.msg) : leaseSeconds);
      }
    })(),
    (async () => {
      if (!polls.length) return;
      try {
        const { paced } = await pollBatch(
          env,
          db,
          polls.map((p) => p.claimId),
        );
        // No slot soon: ask again later rather than hold the consumer.
        await enqueueClaims(
          env,
          paced.map((p) => ({ body: { type: "poll" as const, claimId: p.claimId }, delaySeconds: toDelaySeconds(p.waitMs) })),
        );
        for (const p of polls) p.msg.ack();
      } catch (err) {
        log.error("claims poll batch failed", { kind: errorKind(err), messages: polls.length });
        for (const p of polls) retry(p.msg, quick(p.msg));
      }
    })(),
    ...pages.map(async ({ msg, body }) => {
      try {
        const started = Date.now();
        const queued = await processCutoffPage(env, db, body);
        msg.ack();
        // One line per cut-off message: how far the walk is and how long a message of pages takes.
        log.info("cut-off pages queued", { runId: body.runId, page: body.page, queued, ms: Date.now() - started });
      } catch (err) {
        log.error("cut-off page failed", { kind: errorKind(err) });
        retry(msg, quick(msg));
      }
    }),
  ]);
}

const nonZero = (steps: Record<string, number>) => Object.fromEntries(Object.entries(steps).filter(([, n]) => n > 0));

/** Gives back every claim a failed batch leased (they stay QUEUED with their dispatch id); false when D1 refuses that too. */
async function releaseLease(db: ReturnType<typeof createDb>, lease: string, ids: string[]): Promise<boolean> {
  try {
    const list = JSON.stringify([...new Set(ids)]);
    await db.run(
      sql`UPDATE ${claims} SET lease_owner = NULL WHERE id IN (SELECT value FROM json_each(${list})) AND lease_owner = ${lease} AND status = 'QUEUED'`,
    );
    return true;
  } catch {
    return false;
  }
}
