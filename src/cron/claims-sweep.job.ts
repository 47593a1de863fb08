import type { Env } from "../env";
import { createDb } from "../storage/db";
import { createLogger } from "../lib/logger";
import { reconcile, recoverMissedCutoff, requeueExpired, resendWebhooks, schedulePolls } from "../domain/claims/schedule";
import { enforceClaimsRetention } from "../domain/claims/retention";

/**
 * Every 15 minutes (CONTRACT §8): re-queue QUEUED claims whose lease expired (nothing is lost
 * between the ledger write and the enqueue), ask for polls of PENDING claims whose next poll is due
 * (paced by the consumers), re-send owed webhooks, restart a cut-off that did not run, keep the
 * monthly reconciliation, and enforce the claims area's retention (bounded per run).
 */
export async function runClaimsSweep(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const db = createDb(env.DB);
  const now = controller.scheduledTime;
  const requeued = await requeueExpired(env, db, Math.max(now, Date.now()));
  const polls = await schedulePolls(env, db, Math.max(now, Date.now()));
  const webhooks = await resendWebhooks(env, db, Math.max(now, Date.now()));
  const cutoffRecovered = await recoverMissedCutoff(env, db, Math.max(now, Date.now()));
  const periods = await reconcile(db, now);
  const retention = await enforceClaimsRetention(env, db, Math.max(now, Date.now()));
  createLogger({ job: "claims-sweep" }).info("claims sweep done", { requeued, polls, webhooks, cutoffRecovered, periods, retention });
}
