import type { Env } from "../env";
import { createLogger } from "../lib/logger";
import { lastEndedPeriod } from "../domain/claims/periods";
import { startCutoff } from "../domain/claims/schedule";

/**
 * Monthly cut-off (CONTRACT §8), `30 20 L * *` = 02:00 IST on the 1st. Every SCHEDULED claim of a
 * period that has ended in IST is queued. The cron itself only starts the walk: it enqueues the
 * first page message, and each page (≤ 100 claims, one sendBatch) enqueues the next, so tens of
 * thousands of claims fit the cron's CPU time and D1 query limits with flat memory.
 */
export async function runMonthlyCutoff(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const upTo = lastEndedPeriod(controller.scheduledTime);
  const runId = `cutoff:${upTo}:${controller.scheduledTime}`;
  await startCutoff(env, upTo, runId, new Date(controller.scheduledTime).toISOString());
  createLogger({ job: "monthly-cutoff" }).info("cut-off started", { upTo, runId });
}
