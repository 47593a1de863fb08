import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { createDb } from "../../src/storage/db";
import { transactionLog } from "../../src/storage/upstream-calls";
import { RoundTripTrace, tracedEnv } from "../../src/lib/round-trips";

describe("the transaction log recorder", () => {
  it("writes the rows of many calls in one D1 round trip, after the response, losing none", async () => {
    const trace = new RoundTripTrace();
    const db = createDb(tracedEnv(env, trace).DB);
    const deferred: Promise<unknown>[] = [];
    const record = transactionLog(db, (p) => void deferred.push(p));
    const subject = `tl-${crypto.randomUUID()}`;
    for (let i = 0; i < 20; i++)
      record({ portal: "umang", operation: "getStates", subjectId: subject, outcome: "ok", httpStatus: 200, durationMs: i });
    await Promise.all(deferred);
    trace.close();
    const rows = (await env.DB.prepare("SELECT duration_ms FROM upstream_calls WHERE subject_id = ? ORDER BY duration_ms").bind(subject).all())
      .results;
    expect(rows.map((r) => r.duration_ms)).toEqual([...Array(20).keys()]);
    expect(trace.summary()).toContain("d1=1;");
  });

  it("without defer, each row is written before the call returns", async () => {
    const db = createDb(env.DB);
    const subject = `tl-${crypto.randomUUID()}`;
    await transactionLog(db)({ portal: "assam", operation: "submit", subjectId: subject, outcome: "retry", durationMs: 5, errorCode: "HTTP_503" });
    const row = await env.DB.prepare("SELECT * FROM upstream_calls WHERE subject_id = ?").bind(subject).first();
    expect(row).toMatchObject({ portal: "assam", operation: "submit", outcome: "retry", attempt: 1, error_code: "HTTP_503" });
  });
});
