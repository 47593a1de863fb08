import type { Env } from "../env";
import { createDb } from "../storage/db";
import { pruneSessions } from "../console/session";

/** Every 15 minutes: console session rows a day past their expiry are deleted. */
export async function runConsoleSessionsPrune(_controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  await pruneSessions(createDb(env.DB));
}
