import { and, desc, eq, gte } from "drizzle-orm";
import type { Db } from "../../storage/db";
import { alerts, type AlertKind } from "../../storage/schema/alerts";
import { createLogger } from "../../lib/logger";

export const ALERT_REPEAT_MS = 60 * 60_000;

/**
 * Records an operators' alert (the console's Alerts page reads `alerts`), at most once an hour per
 * kind + subject while the condition persists. Never throws: an alert must not break what it reports.
 */
export async function raiseAlert(
  db: Db,
  a: { kind: AlertKind; subject: string; value: number; threshold: number; message: string },
  now = Date.now(),
): Promise<boolean> {
  try {
    const recent = await db
      .select({ id: alerts.id })
      .from(alerts)
      .where(and(eq(alerts.kind, a.kind), eq(alerts.subject, a.subject), gte(alerts.at, new Date(now - ALERT_REPEAT_MS).toISOString())))
      .orderBy(desc(alerts.id))
      .limit(1)
      .get();
    if (recent) return false;
    await db.insert(alerts).values({
      at: new Date(now).toISOString(),
      ...a,
      subject: a.subject.slice(0, 200),
      message: a.message.slice(0, 1000),
      delivery: "not_configured",
      httpStatus: null,
    });
    createLogger({ job: "alerts" }).warn("alert raised", { kind: a.kind, subject: a.subject });
    return true;
  } catch {
    return false;
  }
}
