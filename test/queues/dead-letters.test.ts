import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Env } from "../../src/env";
import { handleQueue } from "../../src/queues";
import {
  BACKSTOP_ATTEMPTS,
  BACKSTOP_RETRY_DELAY_SECONDS,
  VAULT_PREFIX,
  VAULT_TTL_SECONDS,
  consumeDeadLetterBackstop,
  consumeDeadLetters,
  deadLetterRetryDelaySeconds,
} from "../../src/queues/dead-letters.consumer";

/**
 * Issue 15 item 16: the dead-letter consumer had no dead-letter queue of its own, so dead letters were
 * lost when D1 was down through its retries. Now: per-message retries with backoff, then a backstop
 * queue that keeps each record in KV (DEAD_LETTER_VAULT) and logs a line naming it, and D1 takes them
 * back when it returns.
 */

/** A D1 that is down: every statement fails as the binding does when the database is unreachable. */
const downD1 = new Proxy({} as D1Database, {
  get: () => () => {
    throw new Error("D1_ERROR: Network connection lost.");
  },
});
const withDb = (DB: D1Database) => ({ ...env, DB }) as unknown as Env;
const up = env as unknown as Env;

const SECRET = `tok-${crypto.randomUUID()}`;
const AADHAAR = "4996 1234 5671";
const letter = (claimId: string) => ({
  queue: "amrit-claims-delivery",
  reason: `gave up after 8 attempts: HTTP 500 (Bearer ${SECRET})`,
  body: { type: "deliver", claimId, dispatchId: crypto.randomUUID(), token: SECRET, note: `aadhaar ${AADHAAR}` },
  deadLetterId: crypto.randomUUID(),
});
type Letter = ReturnType<typeof letter>;

function batch(queue: string, letters: Letter[], attempts = 1) {
  return createMessageBatch<Letter>(
    queue,
    letters.map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts, body })),
  );
}
/**
 * Runs a consumer on a batch; answers the harness's ack/retry state plus the delay each retry asked
 * for (the harness records which messages were retried, not their delays).
 */
async function run(consume: (b: MessageBatch<unknown>, e: Env) => Promise<void>, b: MessageBatch<Letter>, e: Env) {
  const delays = new Map<string, number | undefined>();
  for (const m of b.messages) {
    const retry = m.retry.bind(m);
    Object.defineProperty(m, "retry", { value: (o?: QueueRetryOptions) => (delays.set(m.id, o?.delaySeconds), retry(o)) });
  }
  const ctx = createExecutionContext();
  await consume(b as MessageBatch<unknown>, e);
  const r = await getQueueResult(b, ctx);
  return { ...r, retryMessages: r.retryMessages.map((x) => ({ ...x, delaySeconds: delays.get(x.msgId) })) };
}
const row = (id: string) => env.DB.prepare("SELECT * FROM dead_letters WHERE id = ?").bind(id).first<Record<string, unknown>>();
const vaulted = (id: string) => env.DEAD_LETTER_VAULT!.get(`${VAULT_PREFIX}${id}`, "json");

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  for (const m of ["log", "warn", "error"] as const)
    vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(" ")));
});
afterEach(() => vi.restoreAllMocks());
const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
const expectNoSecrets = (text: string) => {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(AADHAAR);
};

describe("dead letters while D1 is down", () => {
  it("backoff: 30 s doubling to 1 h, about 6 hours over the queue's 12 retries", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(deadLetterRetryDelaySeconds)).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600]);
    const total = Array.from({ length: 12 }, (_, i) => deadLetterRetryDelaySeconds(i + 1)).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(5 * 3600);
  });

  it("the consumer retries each message it could not record, with that backoff, instead of losing it", async () => {
    const letters = [letter(crypto.randomUUID()), letter(crypto.randomUUID())];
    const r = await run(consumeDeadLetters, batch("amrit-dead-letters", letters, 3), withDb(downD1));
    expect(r.explicitAcks).toEqual([]);
    expect(r.retryMessages.map((m) => m.delaySeconds)).toEqual([120, 120]);
    const errors = logged().filter((l) => l.msg === "dead letter not recorded: D1 refused it; retrying");
    expect(errors.map((l) => l.deadLetterId).sort()).toEqual(letters.map((l) => l.deadLetterId).sort());
    expectNoSecrets(lines.join("\n"));
    // D1 back: the same messages are recorded once, redacted.
    const again = await run(consumeDeadLetters, batch("amrit-dead-letters", letters, 4), up);
    expect(again.explicitAcks).toHaveLength(2);
    const stored = await row(letters[0].deadLetterId);
    expect(stored).toMatchObject({ kind: "deliver", subject_id: letters[0].body.claimId, queue: "amrit-claims-delivery" });
    expectNoSecrets(JSON.stringify(stored));
  });

  it("the backstop keeps a dead letter D1 still refuses in KV for 30 days, logs a line naming it, and tries again in 12 h", async () => {
    const l = letter(crypto.randomUUID());
    const r = await run(consumeDeadLetterBackstop, batch("amrit-dead-letters-backstop", [l]), withDb(downD1));
    expect(r.explicitAcks).toEqual([]);
    expect(r.retryMessages).toEqual([expect.objectContaining({ delaySeconds: BACKSTOP_RETRY_DELAY_SECONDS })]);
    const kept = (await vaulted(l.deadLetterId)) as Record<string, any>;
    expect(kept).toMatchObject({ id: l.deadLetterId, kind: "deliver", subjectId: l.body.claimId, queue: "amrit-claims-delivery" });
    expect(kept.body.token).toBe("[REDACTED]");
    expectNoSecrets(JSON.stringify(kept));
    const { metadata } = await env.DEAD_LETTER_VAULT!.getWithMetadata(`${VAULT_PREFIX}${l.deadLetterId}`);
    expect(metadata).toEqual({ deadLetterId: l.deadLetterId, queue: "amrit-claims-delivery", kind: "deliver", subjectId: l.body.claimId });
    const line = logged().find((x) => x.msg === "dead letter not in D1: kept outside it");
    expect(line).toMatchObject({
      level: "error",
      deadLetterId: l.deadLetterId,
      kind: "deliver",
      subjectId: l.body.claimId,
      keptIn: `KV DEAD_LETTER_VAULT ${VAULT_PREFIX}${l.deadLetterId}`,
    });
    expect(line).not.toHaveProperty("body");
    expectNoSecrets(lines.join("\n"));
    expect(VAULT_TTL_SECONDS).toBe(30 * 24 * 3600);

    // Its last attempt: acknowledged, the KV copy stays for the operator.
    const last = await run(consumeDeadLetterBackstop, batch("amrit-dead-letters-backstop", [l], BACKSTOP_ATTEMPTS), withDb(downD1));
    expect(last.explicitAcks).toHaveLength(1);
    expect(await vaulted(l.deadLetterId)).not.toBeNull();
  });

  it("without KV either, the log line carries the redacted record itself", async () => {
    const l = letter(crypto.randomUUID());
    await run(consumeDeadLetterBackstop, batch("amrit-dead-letters-backstop", [l]), {
      ...withDb(downD1),
      DEAD_LETTER_VAULT: undefined,
    } as unknown as Env);
    const line = logged().find((x) => x.msg === "dead letter not in D1: kept outside it");
    expect(line).toMatchObject({ keptIn: "this log line only", body: { type: "deliver", claimId: l.body.claimId, token: "[REDACTED]" } });
    expectNoSecrets(lines.join("\n"));
  });

  it("once D1 is back the backstop records it and drops the KV copy; the next recorded dead letter restores the rest", async () => {
    const early = letter(crypto.randomUUID());
    const later = letter(crypto.randomUUID());
    for (const l of [early, later]) await run(consumeDeadLetterBackstop, batch("amrit-dead-letters-backstop", [l]), withDb(downD1));
    expect(await vaulted(early.deadLetterId)).not.toBeNull();

    // The backstop's next try, D1 up (through the queue dispatcher, as in production).
    const ctx = createExecutionContext();
    const b = batch("amrit-dead-letters-backstop", [early], 2);
    await handleQueue(b as MessageBatch<unknown>, up, ctx);
    expect((await getQueueResult(b, ctx)).explicitAcks).toHaveLength(1);
    expect(await row(early.deadLetterId)).toMatchObject({ subject_id: early.body.claimId });
    expect(await vaulted(early.deadLetterId)).toBeNull();

    // `later` waits in KV for its 12 h; a new dead letter recorded in D1 brings it back first.
    const fresh = letter(crypto.randomUUID());
    await run(consumeDeadLetters, batch("amrit-dead-letters", [fresh]), up);
    expect(await row(fresh.deadLetterId)).not.toBeNull();
    expect(await row(later.deadLetterId)).toMatchObject({ subject_id: later.body.claimId, kind: "deliver" });
    expect(await vaulted(later.deadLetterId)).toBeNull();
    expectNoSecrets(JSON.stringify(await row(later.deadLetterId)));
  });
});
