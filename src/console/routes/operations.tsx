import type { Hono } from "hono";
import { SCHEDULE } from "../../cron";
import { claimsByStatusAndAge, deadLettersByKind, depths, oldestUndelivered, samplesSince } from "../ops/backlogs";
import { configHealth, cronHealth, gatewayPublicKeys, tokenHealth } from "../ops/config-health";
import { BacklogsPage } from "../pages/backlogs";
import { ConfigurationPage } from "../pages/configuration";
import { page } from "../render";
import type { ConsoleEnv } from "../session";

/** The pages about the gateway itself: its queues and backlogs, and its configuration's health. */
export function registerOperations(app: Hono<ConsoleEnv>) {
  app.get("/backlogs", async (c) => {
    const db = c.get("services").db;
    const now = Date.now();
    const [byAge, d, oldest, dl, samples] = await Promise.all([
      claimsByStatusAndAge(db, now),
      depths(db),
      oldestUndelivered(db),
      deadLettersByKind(db),
      samplesSince(db, now),
    ]);
    return page(
      c,
      "Queues and backlogs",
      "/console/backlogs",
      <BacklogsPage now={now} byAge={byAge} depths={d} oldest={oldest} deadLetters={dl} samples={samples} />,
    );
  });

  app.get("/configuration", async (c) => {
    const db = c.get("services").db;
    const now = Date.now();
    const [tokens, keys, crons] = await Promise.all([tokenHealth(c.env, db), gatewayPublicKeys(c.env), cronHealth(db)]);
    const expectedJobs = Object.entries(SCHEDULE).flatMap(([cron, jobs]) => Object.keys(jobs).map((job) => ({ cron, job })));
    return page(
      c,
      "Configuration health",
      "/console/configuration",
      <ConfigurationPage now={now} areas={configHealth(c.env)} tokens={tokens} keys={keys} crons={crons} expectedJobs={expectedJobs} />,
    );
  });
}
