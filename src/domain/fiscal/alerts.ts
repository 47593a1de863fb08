import type { Env } from "../../env";
import type { Db } from "../../storage/db";
import type { AlertKind } from "../../storage/schema/alerts";
import { createLogger } from "../../lib/logger";
import { raiseAlert as raiseOperatorsAlert } from "../../cron/alerts.job";

/**
 * Raises an operators' alert for a fiscal or funds condition seen as it happens, through the one
 * path every alert takes (posted to ALERT_WEBHOOK_URL when set, recorded for the console's Alerts
 * page, at most once an hour per kind + subject). Never throws: an alert must not break what it
 * reports.
 */
export async function raiseAlert(
  env: Env,
  db: Db,
  a: { kind: AlertKind; subject: string; value: number; threshold: number; message: string },
  now = Date.now(),
): Promise<boolean> {
  try {
    return await raiseOperatorsAlert(env, db, { ...a, subject: a.subject.slice(0, 200), message: a.message.slice(0, 1000) }, now);
  } catch (err) {
    createLogger({ job: "alerts" }).error("alert could not be raised", { kind: a.kind, error: err instanceof Error ? err.name : "unknown" });
    return false;
  }
}
