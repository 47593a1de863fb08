import { describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { createDb } from "../../src/storage/db";
import { OWNER_LAPSE_MS, SharedLog, transactionLog } from "../../src/storage/upstream-calls";
import { call, createClient } from "../helpers/gateway";
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

  it("requests share rows, never a pending write: the first one's flush writes the rows that follow it", async () => {
    // Its own D1 object, so that no other test's pending flush is in the way (one log per binding object).
    const db = createDb(tracedEnv(env, new RoundTripTrace()).DB);
    const a: Promise<unknown>[] = [];
    const b: Promise<unknown>[] = [];
    const subject = `tl-${crypto.randomUUID()}`;
    const row = (durationMs: number) => ({
      portal: "umang" as const,
      operation: "getStates",
      subjectId: subject,
      outcome: "ok" as const,
      httpStatus: 200,
      durationMs,
    });
    const recordA = transactionLog(db, (p) => void a.push(p));
    const recordB = transactionLog(db, (p) => void b.push(p));
    recordA(row(1));
    recordB(row(2));
    // A owns the flush (its own waitUntil); B defers nothing, so nothing begun in A's context reaches
    // B's (workerd refuses that I/O). Before, each request wrote its own rows: a D1 write per request.
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(0);
    await Promise.all(a);
    const rows = async () =>
      (await env.DB.prepare("SELECT duration_ms FROM upstream_calls WHERE subject_id = ? ORDER BY duration_ms").bind(subject).all()).results.map(
        (r) => r.duration_ms,
      );
    expect(await rows()).toEqual([1, 2]);
    // With that flush done, the next row starts a flush of its own.
    recordB(row(3));
    expect(b).toHaveLength(1);
    await Promise.all(b);
    expect(await rows()).toEqual([1, 2, 3]);
  });

  it("an owner whose flush never comes is replaced, and no row is written twice", async () => {
    const log = new SharedLog(tracedEnv(env, new RoundTripTrace()).DB);
    const subject = `tl-${crypto.randomUUID()}`;
    const row = (durationMs: number) => ({
      at: new Date().toISOString(),
      portal: "umang" as const,
      operation: "getStates",
      subjectId: subject,
      outcome: "ok" as const,
      durationMs,
    });
    const t0 = Date.now();
    const first = log.add(row(1), t0);
    expect(first).not.toBeNull();
    expect(log.add(row(2), t0 + 10)).toBeNull(); // owned
    const second = log.add(row(3), t0 + OWNER_LAPSE_MS + 1); // the owner lapsed: taken over
    expect(second).not.toBeNull();
    await Promise.all([first, second]);
    const rows = (await env.DB.prepare("SELECT duration_ms FROM upstream_calls WHERE subject_id = ? ORDER BY duration_ms").bind(subject).all())
      .results;
    expect(rows.map((r) => r.duration_ms)).toEqual([1, 2, 3]);
  });

  it("concurrent requests through the gateway: every call has exactly one row", async () => {
    const client = await createClient(["health"], "transaction log");
    const answers = await Promise.all(Array.from({ length: 12 }, () => call("GET", "/v1/health/states", { token: client.token })));
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
    const ids = answers.map((r) => r.headers.get("x-request-id"));
    expect(new Set(ids).size).toBe(12);
    await vi.waitFor(
      async () => {
        const r = await env.DB.prepare(
          "SELECT request_id FROM upstream_calls WHERE operation = 'getStates' AND request_id IN (SELECT value FROM json_each(?))",
        )
          .bind(JSON.stringify(ids))
          .all<{ request_id: string }>();
        expect(r.results.map((x) => x.request_id).sort()).toEqual([...ids].sort());
      },
      { timeout: 10_000, interval: 50 },
    );
  });

  it("without defer, each row is written before the call returns", async () => {
    const db = createDb(env.DB);
    const subject = `tl-${crypto.randomUUID()}`;
    await transactionLog(db)({ portal: "assam", operation: "submit", subjectId: subject, outcome: "retry", durationMs: 5, errorCode: "HTTP_503" });
    const row = await env.DB.prepare("SELECT * FROM upstream_calls WHERE subject_id = ?").bind(subject).first();
    expect(row).toMatchObject({ portal: "assam", operation: "submit", outcome: "retry", attempt: 1, error_code: "HTTP_503" });
  });
});
