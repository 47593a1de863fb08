import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { call, expectError, type TestClient } from "../helpers/gateway";
import { assamConfig, claimBody, claimRow, db, putSampleCatalogue, setupClient, waitForStatuses } from "./helpers";
import { claimDeliveries } from "../../src/storage/schema/claim-deliveries";
import type { Env } from "../../src/env";

let client: TestClient;
beforeAll(async () => {
  await putSampleCatalogue();
  client = await setupClient();
});
// The sandbox is shared with every other file: leave it as found.
afterAll(async () => {
  await assamConfig({ immediateDecision: false });
});
const post = (body: unknown) => call("POST", "/v1/claims", { token: client.token, body });

describe("issue 15 item 7: retention, enforced by the sweep, bounded per run", () => {
  const DAY = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();

  it("the transaction log, poll records and settled webhooks go after their days (boundary and paging); settled claims lose the verifier's name, the portal's texts and the wire body", async () => {
    const { enforceClaimsRetention, RETENTION_PAGE } = await import("../../src/domain/claims/retention");
    const { upstreamCalls } = await import("../../src/storage/schema/upstream-calls");
    const { claimWebhooks } = await import("../../src/storage/schema/claim-webhooks");
    const { claimSubmissions } = await import("../../src/storage/schema/claim-submissions");
    const { claims } = await import("../../src/storage/schema/claims");
    const now = Date.now();
    const tag = crypto.randomUUID();
    // 90-day log: rows at 91 days go (more than a page of them), rows at 89 stay.
    const old = Array.from({ length: RETENTION_PAGE + 20 }, () => ({
      at: iso(now - 91 * DAY),
      portal: "assam" as const,
      operation: "submit",
      subjectId: tag,
      outcome: "ok" as const,
      durationMs: 1,
    }));
    for (let i = 0; i < old.length; i += 10)
      await db()
        .insert(upstreamCalls)
        .values(old.slice(i, i + 10));
    await db()
      .insert(upstreamCalls)
      .values({ at: iso(now - 89 * DAY), portal: "umang", operation: "getStates", subjectId: tag, outcome: "ok", durationMs: 1 });
    await db()
      .insert(claimDeliveries)
      .values([
        { claimId: tag, operation: "poll", attempt: 1, at: iso(now - 91 * DAY), outcome: "pending", durationMs: 1 },
        { claimId: tag, operation: "poll", attempt: 2, at: iso(now - 89 * DAY), outcome: "accepted", durationMs: 1 },
        { claimId: tag, operation: "submit", attempt: 1, at: iso(now - 400 * DAY), outcome: "pending", durationMs: 1 },
      ]);
    const hook = (state: "DELIVERED" | "FAILED" | "PENDING", days: number) => ({
      id: crypto.randomUUID(),
      claimId: tag,
      ownerId: "o",
      claimStatus: "PENDING",
      payload: "{}",
      state,
      nextAttemptAt: now,
      createdAt: iso(now - days * DAY),
    });
    await db()
      .insert(claimWebhooks)
      .values([hook("DELIVERED", 31), hook("FAILED", 31), hook("PENDING", 31), hook("DELIVERED", 29)]);

    // Claims: settled at 366 days (purged), at 364 (kept); a FAILED claim still holding its month (kept).
    const made = [claimBody({ period: "2025-07" }), claimBody({ period: "2025-07" }), claimBody({ period: "2025-07" })];
    await assamConfig({ immediateDecision: true });
    for (const b of made) expect((await post(b)).status).toBe(202);
    await waitForStatuses(
      made.map((b) => b.claimId),
      ["ACCEPTED", "REJECTED"],
    );
    const [gone, kept, held] = made.map((b) => b.claimId);
    await db()
      .update(claims)
      .set({ updatedAt: iso(now - 366 * DAY), errors: [{ code: "X", message: "portal text" }] })
      .where(eq(claims.id, gone));
    await db()
      .update(claims)
      .set({ updatedAt: iso(now - 364 * DAY) })
      .where(eq(claims.id, kept));
    await db()
      .update(claims)
      .set({ updatedAt: iso(now - 400 * DAY), status: "FAILED", holdsMonth: true, maybeRecorded: true })
      .where(eq(claims.id, held));

    const report = await enforceClaimsRetention(env as unknown as Env, db(), now);
    expect(report).toEqual({ upstreamCalls: RETENTION_PAGE + 20, pollRecords: 1, webhooks: 2, claimsPurged: 1 });
    const left = await db().select({ at: upstreamCalls.at }).from(upstreamCalls).where(eq(upstreamCalls.subjectId, tag)).all();
    expect(left).toHaveLength(1);
    expect(
      (await db().select().from(claimDeliveries).where(eq(claimDeliveries.claimId, tag)).all()).map((d) => d.attempt + d.operation).sort(),
    ).toEqual(["1submit", "2poll"]);
    expect((await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, tag)).all()).map((w) => w.state).sort()).toEqual([
      "DELIVERED",
      "PENDING",
    ]);
    const purged = (await claimRow(gone))!;
    expect(purged).toMatchObject({
      verifierName: "",
      errors: [{ code: "X", message: "" }],
      purgedAt: expect.any(String),
      ashaId: made[0].ashaId,
      totalPaise: 70_000,
    });
    expect((await db().select().from(claimSubmissions).where(eq(claimSubmissions.claimId, gone)).get())!.wireBody).toBe("");
    expect((await claimRow(kept))!.verifierName).toBe("ASHA Supervisor");
    expect((await claimRow(held))!.verifierName).toBe("ASHA Supervisor");
    // A second run finds nothing more of these.
    expect(await enforceClaimsRetention(env as unknown as Env, db(), now)).toEqual({
      upstreamCalls: 0,
      pollRecords: 0,
      webhooks: 0,
      claimsPurged: 0,
    });
    // The same content again still answers 200 (its hash is kept), and the purged claim cannot be replayed.
    await db().update(claims).set({ status: "FAILED", holdsMonth: false }).where(eq(claims.id, gone));
    expectError(await call("POST", `/v1/admin/claims/${gone}/replay`, { admin: true }), 409, "INVALID_STATE");
  }, 30_000);
});
