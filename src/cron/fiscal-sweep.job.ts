import { and, asc, eq, gt, inArray, isNull, lt, notInArray, or, sql } from "drizzle-orm";
import type { Env } from "../env";
import { createDb, type Db } from "../storage/db";
import { fiscalOutbox } from "../storage/schema/fiscal-outbox";
import { fiscalMessages } from "../storage/schema/fiscal-messages";
import { fundsAccounts } from "../storage/schema/funds-accounts";
import { paymentInstructions } from "../storage/schema/payment-instructions";
import { DELIVERY_LEASE_MS, type FiscalDeliveryMessage } from "../domain/fiscal/messages";
import { HELD_BY_ACCOUNT, PURGED, purgeExpiredPersonalData } from "../domain/funds/retention";
import { accountStub } from "../domain/funds/accounts";
import { currentSealPrefix, reseal } from "../domain/fiscal/at-rest";
import { raiseAlert } from "../domain/fiscal/alerts";
import { REGISTRY_SHARDS, registryFor, registryShard } from "../durable-objects/funds-registry";
import { createLogger, errorKind } from "../lib/logger";

/** Outbox rows never handed to the queue get this long (the request's own send) before a re-send. */
export const UNSENT_GRACE_MS = 60_000;
/** Bounds per run: pages of 90 (D1's 100 bound parameters), so one run stays within its query budget. */
const PAGE = 90;

export interface SweepStep {
  done: number;
  failed: number;
}
export type SweepReport = Record<string, SweepStep>;

/**
 * Re-sends fiscal deliveries of D1's outbox (messages other than PIs') that were never sent or whose
 * lease expired, oldest first. Per page: one select, one conditional UPDATE that moves the lease
 * forward (re-checking the due condition, so two sweeps never both take a row) and one sendBatch, in
 * its own try: a failed page keeps its new lease and is sent by a later run; the next page goes on.
 */
export async function resendOutbox(env: Env, db: Db, now = Date.now(), maxPages = 20): Promise<SweepStep> {
  const step: SweepStep = { done: 0, failed: 0 };
  const due = () => or(and(isNull(fiscalOutbox.leaseUntil), lt(fiscalOutbox.createdAt, now - UNSENT_GRACE_MS)), lt(fiscalOutbox.leaseUntil, now));
  for (let page = 0; page < maxPages; page++) {
    try {
      const rows = await db
        .select({ id: fiscalOutbox.messageId })
        .from(fiscalOutbox)
        .where(due())
        .orderBy(asc(fiscalOutbox.createdAt), asc(fiscalOutbox.messageId))
        .limit(PAGE)
        .all();
      if (!rows.length) break;
      const taken = await db
        .update(fiscalOutbox)
        .set({ leaseUntil: now + DELIVERY_LEASE_MS })
        .where(
          and(
            inArray(
              fiscalOutbox.messageId,
              rows.map((r) => r.id),
            ),
            due(),
          ),
        )
        .returning({ messageId: fiscalOutbox.messageId, attempt: fiscalOutbox.attempt })
        .all();
      if (taken.length) {
        const bodies: FiscalDeliveryMessage[] = taken.map((t) => ({ type: "fiscal.deliver", messageId: t.messageId, attempt: t.attempt }));
        await env.FISCAL_DELIVERY.sendBatch(bodies.map((body) => ({ body })));
      }
      step.done += taken.length;
      if (rows.length < PAGE) break;
    } catch {
      step.failed++;
    }
  }
  return step;
}

/**
 * The safety net of the account objects' own alarms: every registered account is asked to flush
 * (project, hand off what is due, housekeep: retention and re-encryption) through the fiscal queue,
 * in pages of 90 in account order, each page's sendBatch in its own try.
 */
export async function fanOutFlush(env: Env, db: Db, maxPages = 300): Promise<SweepStep> {
  const step: SweepStep = { done: 0, failed: 0 };
  let after: [string, string, string] | null = null;
  for (let page = 0; page < maxPages; page++) {
    const cursor: [string, string, string] | null = after;
    let rows: { tenantId: string; headOfAccount: string; ssuCode: string }[];
    try {
      rows = await db
        .select({ tenantId: fundsAccounts.tenantId, headOfAccount: fundsAccounts.headOfAccount, ssuCode: fundsAccounts.ssuCode })
        .from(fundsAccounts)
        .where(
          cursor
            ? or(
                gt(fundsAccounts.tenantId, cursor[0]),
                and(eq(fundsAccounts.tenantId, cursor[0]), gt(fundsAccounts.headOfAccount, cursor[1])),
                and(eq(fundsAccounts.tenantId, cursor[0]), eq(fundsAccounts.headOfAccount, cursor[1]), gt(fundsAccounts.ssuCode, cursor[2])),
              )
            : undefined,
        )
        .orderBy(asc(fundsAccounts.tenantId), asc(fundsAccounts.headOfAccount), asc(fundsAccounts.ssuCode))
        .limit(PAGE)
        .all();
    } catch {
      step.failed++;
      return step;
    }
    if (!rows.length) break;
    try {
      await env.FISCAL_DELIVERY.sendBatch(rows.map((k) => ({ body: { type: "funds.flush", account: accountStub(env, k).id.toString() } })));
      step.done += rows.length;
    } catch {
      step.failed++;
    }
    if (rows.length < PAGE) break;
    const last = rows[rows.length - 1];
    after = [last.tenantId, last.headOfAccount, last.ssuCode];
  }
  return step;
}

/** Each registry shard makes sure its pending claims have an alarm (each in its own try). */
export async function kickRegistries(env: Env): Promise<SweepStep> {
  const step: SweepStep = { done: 0, failed: 0 };
  for (let shard = 0; shard < REGISTRY_SHARDS; shard++) {
    try {
      await registryShard(env, "pay", shard).kick();
      step.done++;
    } catch {
      step.failed++;
    }
  }
  return step;
}

/**
 * Upgrading a deployment: PIs made before the FundsRegistry held their paymentId through D1's
 * unique index, which is gone. Each such PI still live is registered once (oldest first, bounded per
 * run, each in its own try), so that its paymentId stays unique; `registry_at` records it.
 */
export async function registerLegacyPis(env: Env, db: Db, limit = PAGE): Promise<SweepStep> {
  const step: SweepStep = { done: 0, failed: 0 };
  const rows = await db
    .select()
    .from(paymentInstructions)
    .where(
      and(
        isNull(paymentInstructions.registryAt),
        eq(paymentInstructions.live, 1),
        notInArray(paymentInstructions.status, ["RESERVED", "FAILED"]),
        notInArray(paymentInstructions.beneficiariesEnc, [HELD_BY_ACCOUNT]),
      ),
    )
    .orderBy(asc(paymentInstructions.createdAt), asc(paymentInstructions.piId))
    .limit(limit)
    .all();
  for (const r of rows) {
    try {
      if (!r.headOfAccount || !r.ssuCode) continue;
      const accountHex = accountStub(env, { tenantId: r.tenantId, headOfAccount: r.headOfAccount, ssuCode: r.ssuCode }).id.toString();
      await registryFor(env, "pay", r.paymentId).registerExisting({ paymentId: r.paymentId, ownerId: r.ownerId, accountHex, piId: r.piId });
      await db.update(paymentInstructions).set({ registryAt: new Date().toISOString() }).where(eq(paymentInstructions.piId, r.piId)).run();
      step.done++;
    } catch {
      step.failed++;
    }
  }
  return step;
}

/**
 * Re-encrypts sealed rows in D1 under the newest DATA_ENCRYPTION_KEY (issue 12), oldest first,
 * bounded per run, each row in its own try (compare-and-set: a row changed meanwhile is left alone).
 * The account objects re-encrypt their own (FundsAccount.resealPayloads, from their flush).
 */
export async function resealD1(env: Env, db: Db, limit = 200): Promise<SweepStep> {
  const step: SweepStep = { done: 0, failed: 0 };
  const prefix = await currentSealPrefix(env);
  const stale = (col: typeof fiscalMessages.wireBody | typeof paymentInstructions.beneficiariesEnc) =>
    and(notInArray(col, [PURGED, HELD_BY_ACCOUNT]), sql`substr(${col}, 1, ${prefix.length}) <> ${prefix}`);
  const msgs = await db
    .select({ id: fiscalMessages.id, body: fiscalMessages.wireBody })
    .from(fiscalMessages)
    .where(stale(fiscalMessages.wireBody))
    .orderBy(asc(fiscalMessages.createdAt), asc(fiscalMessages.id))
    .limit(limit)
    .all();
  for (const m of msgs) {
    try {
      const fresh = await reseal(env, m.body, m.id);
      await db
        .update(fiscalMessages)
        .set({ wireBody: fresh })
        .where(and(eq(fiscalMessages.id, m.id), eq(fiscalMessages.wireBody, m.body)))
        .run();
      step.done++;
    } catch {
      step.failed++;
    }
  }
  const pis = await db
    .select({ id: paymentInstructions.piId, body: paymentInstructions.beneficiariesEnc })
    .from(paymentInstructions)
    .where(stale(paymentInstructions.beneficiariesEnc))
    .orderBy(asc(paymentInstructions.createdAt), asc(paymentInstructions.piId))
    .limit(limit)
    .all();
  for (const p of pis) {
    try {
      const fresh = await reseal(env, p.body, p.id);
      await db
        .update(paymentInstructions)
        .set({ beneficiariesEnc: fresh })
        .where(and(eq(paymentInstructions.piId, p.id), eq(paymentInstructions.beneficiariesEnc, p.body)))
        .run();
      step.done++;
    } catch {
      step.failed++;
    }
  }
  return step;
}

/**
 * Every 15 minutes. With each account's object as its own truth (ledger, outbox, alarm), the sweep is
 * only a safety net: re-send D1's outbox (messages other than PIs'), ask every account object to
 * flush, make sure registry claims settle, purge personal data past retention, re-encrypt under the
 * newest key. Each step and each row in its own try, oldest first, bounded; a failure is logged,
 * counted and alerted (`alerts`, kind sweep_failure) and never stops the rest.
 */
export async function runFiscalSweep(_controller: ScheduledController | null, env: Env, _ctx?: ExecutionContext): Promise<void> {
  await sweepFiscal(env);
}

/** One run of the fiscal sweep at `now`, with what each step did and how often it failed. */
export async function sweepFiscal(env: Env, now = Date.now()): Promise<SweepReport> {
  const db = createDb(env.DB);
  const log = createLogger({ job: "fiscalSweep" });
  const report: SweepReport = {};
  const steps: [string, () => Promise<SweepStep>][] = [
    ["resendOutbox", () => resendOutbox(env, db, now)],
    ["flushAccounts", () => fanOutFlush(env, db)],
    ["registries", () => kickRegistries(env)],
    ["legacyPis", () => registerLegacyPis(env, db)],
    [
      "retention",
      async () => {
        const p = await purgeExpiredPersonalData(env, db, now);
        return { done: p.pis + p.messages + p.callbacks, failed: p.failures };
      },
    ],
    ["reseal", () => resealD1(env, db)],
  ];
  for (const [name, run] of steps) {
    try {
      report[name] = await run();
    } catch (err) {
      log.error("fiscal sweep step failed", { step: name, kind: errorKind(err) });
      report[name] = { done: 0, failed: 1 };
    }
    if (report[name].failed) {
      log.warn("fiscal sweep step had failures", { step: name, ...report[name] });
      await raiseAlert(
        env,
        db,
        {
          kind: "sweep_failure",
          subject: `fiscalSweep:${name}`,
          value: report[name].failed,
          threshold: 1,
          message: `fiscal sweep: ${report[name].failed} failure(s) in ${name} (the rest of the run went on; the next run tries them again)`,
        },
        now,
      );
    }
  }
  log.info("fiscal sweep", { ...Object.fromEntries(Object.entries(report).map(([k, v]) => [k, v.done])) });
  return report;
}
