import type { Env } from "../env";
import { createLogger, errorKind } from "../lib/logger";
import { runMonthlyCutoff } from "./monthly-cutoff.job";
import { runClaimsSweep } from "./claims-sweep.job";
import { runFiscalSweep } from "./fiscal-sweep.job";
import { runAlerts } from "./alerts.job";

type Job = (controller: ScheduledController, env: Env, ctx: ExecutionContext) => Promise<void>;

/** Cron expressions as in wrangler.jsonc (UTC). 20:30 UTC on the last day = 02:00 IST on the 1st. */
export const CRONS = { monthlyCutoff: "30 20 L * *", quarterHourly: "*/15 * * * *" } as const;

const SCHEDULE: Record<string, Record<string, Job>> = {
  [CRONS.monthlyCutoff]: { monthlyCutoff: runMonthlyCutoff },
  [CRONS.quarterHourly]: { claimsSweep: runClaimsSweep, fiscalSweep: runFiscalSweep, alerts: runAlerts },
};

/** Runs each job of the schedule on its own, so one failing job does not stop the others. */
export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const log = createLogger({ cron: controller.cron });
  const jobs = SCHEDULE[controller.cron] ?? {};
  const results = await Promise.allSettled(
    Object.entries(jobs).map(async ([name, job]) => {
      const started = Date.now();
      await job(controller, env, ctx);
      log.info("cron job done", { job: name, durationMs: Date.now() - started });
    }),
  );
  const failed = results.filter((r) => r.status === "rejected");
  for (const f of failed) log.error("cron job failed", { kind: errorKind((f as PromiseRejectedResult).reason) });
  if (failed.length) throw new Error(`${failed.length} cron job(s) failed`);
}
