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

  it("two requests never share a pending write: each request's rows are written by its own flush", async () => {
    // Before: one buffer per isolate, so request B handed request A's pending flush to its own
    // waitUntil: I/O on behalf of a different request, which workerd refuses (seen as unhandled
    // "Cannot perform I/O on behalf of a different request" rejections in the health tests).
    const db = createDb(env.DB);
    const a: Promise<unknown>[] = [];
    const b: Promise<unknown>[] = [];
    const subject = `tl-${crypto.randomUUID()}`;
    const recordA = transactionLog(db, (p) => void a.push(p));
    const recordB = transactionLog(db, (p) => void b.push(p));
    recordA({ portal: "umang", operation: "getStates", subjectId: subject, outcome: "ok", httpStatus: 200, durationMs: 1 });
    recordB({ portal: "umang", operation: "getStates", subjectId: subject, outcome: "ok", httpStatus: 200, durationMs: 2 });
    expect(a[0]).not.toBe(b[0]);
    await Promise.all(b);
    const afterB = (await env.DB.prepare("SELECT duration_ms FROM upstream_calls WHERE subject_id = ?").bind(subject).all()).results;
    expect(afterB.map((r) => r.duration_ms)).toContain(2);
    await Promise.all(a);
    const all = (await env.DB.prepare("SELECT duration_ms FROM upstream_calls WHERE subject_id = ? ORDER BY duration_ms").bind(subject).all())
      .results;
    expect(all.map((r) => r.duration_ms)).toEqual([1, 2]);
  });

  it("without defer, each row is written before the call returns", async () => {
    const db = createDb(env.DB);
    const subject = `tl-${crypto.randomUUID()}`;
    await transactionLog(db)({ portal: "assam", operation: "submit", subjectId: subject, outcome: "retry", durationMs: 5, errorCode: "HTTP_503" });
    const row = await env.DB.prepare("SELECT * FROM upstream_calls WHERE subject_id = ?").bind(subject).first();
    expect(row).toMatchObject({ portal: "assam", operation: "submit", outcome: "retry", attempt: 1, error_code: "HTTP_503" });
  });
});
