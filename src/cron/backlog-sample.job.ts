import type { Env } from "../env";
import { createDb } from "../storage/db";
import { sampleBacklogs } from "../console/ops/backlogs";

/** Every 15 minutes: the depth of each backlog, kept a week for the console's 24-hour chart. */
export async function runBacklogSample(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  await sampleBacklogs(createDb(env.DB), controller.scheduledTime);
}
