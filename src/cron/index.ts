import type { Env } from "../env";
import { createLogger, errorKind } from "../lib/logger";
import { createDb } from "../storage/db";
import { cronRuns } from "../storage/schema/cron-runs";
import { runMonthlyCutoff } from "./monthly-cutoff.job";
import { runClaimsSweep } from "./claims-sweep.job";
import { runFiscalSweep } from "./fiscal-sweep.job";
import { runAlerts } from "./alerts.job";
import { runBacklogSample } from "./backlog-sample.job";
import { runConsoleSessionsPrune } from "./console-sessions.job";

type Job = (controller: ScheduledController, env: Env, ctx: ExecutionContext) => Promise<void>;

/** Cron expressions as in wrangler.jsonc (UTC). 20:30 UTC on the last day = 02:00 IST on the 1st. */
export const CRONS = { monthlyCutoff: "30 20 L * *", quarterHourly: "*/15 * * * *" } as const;

export const SCHEDULE: Record<string, Record<string, Job>> = {
  [CRONS.monthlyCutoff]: { monthlyCutoff: runMonthlyCutoff },
  [CRONS.quarterHourly]: {
    claimsSweep: runClaimsSweep,
    fiscalSweep: runFiscalSweep,
    alerts: runAlerts,
    backlogSample: runBacklogSample,
    consoleSessionsPrune: runConsoleSessionsPrune,
  },
};

/**
 * Runs each job of the schedule on its own, so one failing job does not stop the others, and records
 * each run (cron_runs, for the console); throws when any job failed so the runtime reports it.
 */
export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const log = createLogger({ cron: controller.cron });
  const jobs = SCHEDULE[controller.cron] ?? {};
  const results = await Promise.allSettled(
    Object.entries(jobs).map(async ([name, job]) => {
      const started = Date.now();
      let failure: unknown = null;
      try {
        await job(controller, env, ctx);
      } catch (err) {
        failure = err;
      }
      const durationMs = Date.now() - started;
      await recordRun(env, controller.cron, name, started, durationMs, failure);
      if (failure !== null) {
        log.error("cron job failed", { job: name, kind: errorKind(failure), durationMs });
        throw failure;
      }
      log.info("cron job done", { job: name, durationMs });
    }),
  );
  const failed = results.filter((r) => r.status === "rejected").length;
  if (failed) throw new Error(`${failed} cron job(s) failed`);
}

/** One row per job, overwritten; a failure to record never hides the job's own outcome. */
async function recordRun(env: Env, cron: string, job: string, started: number, durationMs: number, failure: unknown) {
  const finishedAt = new Date(started + durationMs).toISOString();
  const row = {
    job,
    cron,
    startedAt: new Date(started).toISOString(),
    finishedAt,
    durationMs,
    outcome: failure === null ? ("ok" as const) : ("failed" as const),
    errorKind: failure === null ? null : errorKind(failure),
  };
  try {
    await createDb(env.DB)
      .insert(cronRuns)
      .values({ ...row, lastOkAt: failure === null ? finishedAt : null })
      .onConflictDoUpdate({ target: cronRuns.job, set: failure === null ? { ...row, lastOkAt: finishedAt } : row })
      .run();
  } catch {
    createLogger({ cron }).warn("cron run not recorded", { job });
  }
}
