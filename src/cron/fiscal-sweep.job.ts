import type { Env } from "../env";

// Placeholder until fiscal lands (issue 5): re-sends unsent outbox rows, converges projections.
export async function runFiscalSweep(_controller: ScheduledController, _env: Env, _ctx: ExecutionContext): Promise<void> {}
