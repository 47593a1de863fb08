import type { Env } from "../env";

// Placeholder until claims land (issue 3): polls PENDING claims, re-queues expired leases.
export async function runClaimsSweep(_controller: ScheduledController, _env: Env, _ctx: ExecutionContext): Promise<void> {}
