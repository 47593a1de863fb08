import type { Env } from "../env";

// Placeholder until claims land (issue 3).
export async function runMonthlyCutoff(_controller: ScheduledController, _env: Env, _ctx: ExecutionContext): Promise<void> {}
