import { and, eq } from "drizzle-orm";
import type { Env } from "../env";
import { getUpstreamConfig } from "../env";
import { GatewayError } from "../errors";
import { getClaimsWebhookConfig } from "../adapters/assam/config";
import { createDb } from "../storage/db";
import { claimWebhooks } from "../storage/schema/claim-webhooks";
import { recordUpstreamCall } from "../storage/upstream-calls";
import { createLogger, errorKind } from "../lib/logger";
import { WebhookQueueMessage } from "../domain/claims/messages";
import { signWebhook, webhookKeys, WEBHOOK_HEADERS } from "../domain/claims/webhook-signature";
import { parseRetryAfter, retryDelaySeconds } from "../domain/claims/backoff";
import { ENQUEUE_GRACE_MS, sendWebhooks } from "../domain/claims/ledger";
import { deadLetter } from "./dead-letters.consumer";
import { QUEUES } from "./names";

/**
 * WEBHOOKS consumer: posts claim status changes to CLAIMS_WEBHOOK_URL, signed as Standard Webhooks
 * (see webhook-signature.ts), at least once. The outbox row says whether it is still owed; a failure
 * is retried with exponential backoff and jitter up to DELIVERY_MAX_ATTEMPTS, then FAILED and
 * dead-lettered (replaying the dead letter re-sends it). Receivers deduplicate on `webhook-id`.
 */
export async function consumeWebhooks(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const db = createDb(env.DB);
  const log = createLogger({ queue: batch.queue });
  await Promise.all(
    batch.messages.map(async (msg) => {
      const parsed = WebhookQueueMessage.safeParse(msg.body);
      if (!parsed.success) {
        msg.ack();
        return;
      }
      try {
        await deliverWebhook(env, db, parsed.data.id);
        msg.ack();
      } catch (err) {
        log.error("webhook message failed", { kind: errorKind(err) });
        msg.retry({ delaySeconds: 60 });
      }
    }),
  );
}

export async function deliverWebhook(env: Env, db: ReturnType<typeof createDb>, id: string): Promise<"skipped" | "delivered" | "retry" | "failed"> {
  let conf;
  try {
    conf = getClaimsWebhookConfig(env);
  } catch (err) {
    // Misconfigured (e.g. a URL without its secret): leave the row owed and say which variable.
    createLogger({ webhookId: id }).warn("claim webhook not sent: configuration", { reason: err instanceof GatewayError ? err.message : "invalid" });
    return "skipped";
  }
  const url = conf.CLAIMS_WEBHOOK_URL;
  const keys = conf.CLAIMS_WEBHOOK_SECRET ? webhookKeys(conf.CLAIMS_WEBHOOK_SECRET) : null;
  // Not configured here: leave the row owed; a configured deployment's sweep will send it.
  if (!url || !keys) return "skipped";
  const row = await db.select().from(claimWebhooks).where(eq(claimWebhooks.id, id)).get();
  if (!row || row.state !== "PENDING") return "skipped";
  const { UPSTREAM_TIMEOUT_MS, DELIVERY_MAX_ATTEMPTS, DELIVERY_BACKOFF_BASE_MS } = getUpstreamConfig(env);
  const attempt = row.attempts + 1;
  const started = Date.now();
  let status: number | null = null;
  let retryAfterMs: number | null = null;
  let error: string | null = null;
  try {
    const timestamp = Math.floor(started / 1000);
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        [WEBHOOK_HEADERS.id]: row.id,
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        [WEBHOOK_HEADERS.signature]: await signWebhook(keys, row.id, timestamp, row.payload),
      },
      body: row.payload,
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
    await res.body?.cancel();
    status = res.status;
    retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
    if (!res.ok) error = `HTTP_${res.status}`;
  } catch (err) {
    error = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError") ? "TIMEOUT" : "NETWORK_ERROR";
  }
  const durationMs = Date.now() - started;
  await recordUpstreamCall(db, {
    portal: "webhook",
    operation: "claim.status_changed",
    subjectId: row.claimId,
    attempt,
    outcome: error ? (error === "TIMEOUT" ? "timeout" : error === "NETWORK_ERROR" ? "network" : "retry") : "ok",
    httpStatus: status,
    durationMs,
    errorCode: error,
  });
  const now = Date.now();
  // Each change is guarded by the row still being PENDING at the attempt this send made.
  const owed = and(eq(claimWebhooks.id, row.id), eq(claimWebhooks.state, "PENDING"), eq(claimWebhooks.attempts, row.attempts));
  if (!error) {
    await db
      .update(claimWebhooks)
      .set({ state: "DELIVERED", attempts: attempt, lastHttpStatus: status, lastError: null, deliveredAt: new Date(now).toISOString() })
      .where(owed);
    return "delivered";
  }
  if (attempt >= DELIVERY_MAX_ATTEMPTS) {
    const failed = await db
      .update(claimWebhooks)
      .set({ state: "FAILED", attempts: attempt, lastHttpStatus: status, lastError: error })
      .where(owed)
      .returning({ id: claimWebhooks.id });
    if (failed.length)
      await deadLetter(
        env,
        QUEUES.webhooks,
        { type: "claim-webhook", id: row.id, claimId: row.claimId },
        `gave up after ${attempt} attempts: ${error}`,
      );
    return "failed";
  }
  const delaySeconds = retryDelaySeconds(attempt, DELIVERY_BACKOFF_BASE_MS, retryAfterMs);
  const moved = await db
    .update(claimWebhooks)
    .set({ attempts: attempt, lastHttpStatus: status, lastError: error, nextAttemptAt: now + delaySeconds * 1000 + ENQUEUE_GRACE_MS })
    .where(owed)
    .returning({ id: claimWebhooks.id });
  if (moved.length) await sendWebhooks(env, [row.id], delaySeconds);
  return "retry";
}
