import { count, gte } from "drizzle-orm";
import { alerts } from "../../storage/schema/alerts";
import { claimsByPeriod, deadLetterCounts, fundsByHead, upstreamHealth } from "../ops/overview";
import { OverviewPage } from "../pages/overview";
import { page, type C } from "../render";

/** The overview: claims per period and status, upstream health, dead letters, funds, alerts. */
export async function overview(c: C) {
  const db = c.get("services").db;
  const now = Date.now();
  const [claimsData, hour, day, dl, funds, alertsToday] = await Promise.all([
    claimsByPeriod(db),
    upstreamHealth(db, new Date(now - 3600_000).toISOString()),
    upstreamHealth(db, new Date(now - 86_400_000).toISOString()),
    deadLetterCounts(db),
    fundsByHead(db),
    db
      .select({ n: count() })
      .from(alerts)
      .where(gte(alerts.at, new Date(now - 86_400_000).toISOString()))
      .get(),
  ]);
  return page(
    c,
    "Overview",
    "/console",
    <OverviewPage claims={claimsData} hour={hour} day={day} deadLetters={dl} funds={funds} alertsToday={Number(alertsToday?.n ?? 0)} />,
  );
}
