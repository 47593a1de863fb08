import type { Env } from "../env";

// Placeholder until the console lands (issue 6): failure-rate and dead-letter alerts.
export async function runAlerts(_controller: ScheduledController, _env: Env, _ctx: ExecutionContext): Promise<void> {}
