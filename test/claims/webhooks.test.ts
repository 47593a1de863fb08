import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { call, type TestClient } from "../helpers/gateway";
import { assam, assamConfig, claimBody, db, forceQueued, putSampleCatalogue, runClaimsConsumer, setupClient } from "./helpers";
import { claimWebhooks } from "../../src/storage/schema/claim-webhooks";
import { consumeWebhooks } from "../../src/queues/webhooks.consumer";
import { verifyWebhook } from "../../src/domain/claims/webhook-signature";
import { pollClaim } from "../../src/domain/claims/delivery";
import type { Env } from "../../src/env";

const SECRET = "whsec-test-only";
let client: TestClient;
let hooked: Env;

beforeAll(async () => {
  await putSampleCatalogue();
  client = await setupClient();
  hooked = { ...env, CLAIMS_WEBHOOK_URL: `${env.TEST_SANDBOX_URL}/assam/__sandbox/webhook`, CLAIMS_WEBHOOK_SECRET: SECRET } as unknown as Env;
});

async function runWebhooks(ids: string[]) {
  const batch = createMessageBatch("amrit-webhooks", ids.map((id, i) => ({ id: `w-${i}-${id}`, timestamp: new Date(), attempts: 1, body: { type: "claim-webhook", id } })));
  const ctx = createExecutionContext();
  await consumeWebhooks(batch, hooked, ctx);
  return getQueueResult(batch, ctx);
}

const received = async (claimId: string) =>
  ((await assam("GET", "/__sandbox/webhooks")).json.webhooks as { headers: Record<string, string>; body: string; answered: number }[]).filter((w) => JSON.parse(w.body).data.claimId === claimId);

describe("claim status webhooks (CLAIMS_WEBHOOK_URL)", () => {
  it("each status change is posted, HMAC-SHA256 signed, and retried until delivered", async () => {
    const body = claimBody({ schedule: "cutoff" });
    await call("POST", "/v1/claims", { token: client.token, body });
    await forceQueued([body.claimId], "wh");
    await runClaimsConsumer([{ type: "deliver", claimId: body.claimId, dispatchId: "wh" }], hooked);
    const rows = await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ claimStatus: "PENDING", state: "PENDING" });

    // The receiver fails the first delivery: the row stays owed and is retried.
    await assamConfig({ webhookFailFirst: 1 });
    const first = await runWebhooks([rows[0].id]);
    expect(first.explicitAcks).toHaveLength(1);
    let row = (await db().select().from(claimWebhooks).where(eq(claimWebhooks.id, rows[0].id)).get())!;
    expect(row).toMatchObject({ state: "PENDING", attempts: 1, lastHttpStatus: 503 });
    await runWebhooks([rows[0].id]);
    row = (await db().select().from(claimWebhooks).where(eq(claimWebhooks.id, rows[0].id)).get())!;
    expect(row).toMatchObject({ state: "DELIVERED", attempts: 2 });
    // Delivered: a duplicate message posts nothing more.
    await runWebhooks([rows[0].id]);

    const got = await received(body.claimId);
    expect(got.map((w) => w.answered)).toEqual([503, 204]);
    const ok = got[1];
    expect(ok.body).toBe(row.payload);
    expect(ok.headers["x-amrit-delivery"]).toBe(row.id);
    expect(ok.headers["x-amrit-event"]).toBe("claim.status_changed");
    const sig = ok.headers["x-amrit-signature"];
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(await verifyWebhook(SECRET, ok.body, sig, Math.floor(Date.now() / 1000))).toBe(true);
    expect(await verifyWebhook("another-secret", ok.body, sig, Math.floor(Date.now() / 1000))).toBe(false);
    expect(await verifyWebhook(SECRET, ok.body.replace("PENDING", "ACCEPTED"), sig, Math.floor(Date.now() / 1000))).toBe(false);
    expect(JSON.parse(ok.body)).toMatchObject({ type: "claim.status_changed", data: { claimId: body.claimId, previousStatus: "QUEUED", status: "PENDING", totalAmount: 700 } });

    // The next change (PENDING → ACCEPTED on a poll) is another event.
    const polled = await pollClaim(hooked, db(), body.claimId, { from: ["PENDING"], maxWaitMs: 5_000 });
    expect(polled.step).toBe("changed");
    const next = await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all();
    expect(next.map((w) => w.claimStatus).sort()).toEqual(["ACCEPTED", "PENDING"]);
  });

  it("the cut-off's SCHEDULED → QUEUED is a status change too", async () => {
    const { processCutoffPage } = await import("../../src/domain/claims/schedule");
    const body = claimBody({ schedule: "cutoff", period: "2025-06" });
    await call("POST", "/v1/claims", { token: client.token, body });
    expect(await processCutoffPage(hooked, db(), { type: "cutoff-page", runId: "wh-cutoff", upTo: "2025-06", after: null, page: 0 })).toBe(1);
    const rows = await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all();
    expect(rows.map((r) => r.claimStatus)).toEqual(["QUEUED"]);
    expect(JSON.parse(rows[0].payload).data).toMatchObject({ previousStatus: "SCHEDULED", status: "QUEUED" });
  });

  it("nothing is written to the outbox when no webhook URL is configured", async () => {
    const body = claimBody({ schedule: "cutoff" });
    await call("POST", "/v1/claims", { token: client.token, body });
    await forceQueued([body.claimId], "nowh");
    await runClaimsConsumer([{ type: "deliver", claimId: body.claimId, dispatchId: "nowh" }]);
    expect(await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all()).toEqual([]);
  });

  it("a webhook URL without its secret stops neither delivery nor the outbox; the event waits for the fix", async () => {
    const noSecret = { ...env, CLAIMS_WEBHOOK_URL: `${env.TEST_SANDBOX_URL}/assam/__sandbox/webhook` } as unknown as Env;
    const body = claimBody({ schedule: "cutoff" });
    await call("POST", "/v1/claims", { token: client.token, body });
    await forceQueued([body.claimId], "nosecret");
    await runClaimsConsumer([{ type: "deliver", claimId: body.claimId, dispatchId: "nosecret" }], noSecret);
    const claim = await call("GET", `/v1/claims/${body.claimId}`, { token: client.token });
    expect(claim.json.status).toBe("PENDING");
    const rows = await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all();
    expect(rows).toHaveLength(1);
    const batch = createMessageBatch("amrit-webhooks", [{ id: "w-nosecret", timestamp: new Date(), attempts: 1, body: { type: "claim-webhook", id: rows[0].id } }]);
    const ctx = createExecutionContext();
    await consumeWebhooks(batch, noSecret, ctx);
    await getQueueResult(batch, ctx);
    expect((await db().select().from(claimWebhooks).where(eq(claimWebhooks.id, rows[0].id)).get())!.state).toBe("PENDING");
    expect(await received(body.claimId)).toEqual([]);
    // Once the secret is set, the owed event goes out.
    await runWebhooks([rows[0].id]);
    expect((await db().select().from(claimWebhooks).where(eq(claimWebhooks.id, rows[0].id)).get())!.state).toBe("DELIVERED");
  });
});
