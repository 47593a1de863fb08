import { beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { call, type TestClient } from "../helpers/gateway";
import {
  assam,
  assamConfig,
  claimBody,
  claimRow,
  db,
  forceQueued,
  portalCounts,
  putSampleCatalogue,
  runClaimsConsumer,
  setupClient,
} from "./helpers";
import { deadLetters } from "../../src/storage/schema/dead-letters";
import { claimWebhooks } from "../../src/storage/schema/claim-webhooks";
import { consumeWebhooks } from "../../src/queues/webhooks.consumer";
import { signWebhook, verifyWebhook, webhookKeys } from "../../src/domain/claims/webhook-signature";
import vectors from "./fixtures/standard-webhooks-vectors.json";
import { pollClaim } from "../../src/domain/claims/delivery";
import type { Env } from "../../src/env";

// Two Standard Webhooks secrets (a rotation: the new one first); receivers may hold either.
const SECRET = vectors.rotation.secrets[0];
const OLD_SECRET = vectors.rotation.secrets[1];
let client: TestClient;
let hooked: Env;

beforeAll(async () => {
  // The portal answers 202 PENDING (the first status change these tests follow), whatever other files left set.
  await assamConfig({ immediateDecision: false, pendingPolls: 0, webhookFailFirst: 0 });
  await putSampleCatalogue();
  client = await setupClient();
  hooked = {
    ...env,
    CLAIMS_WEBHOOK_URL: `${env.TEST_SANDBOX_URL}/assam/__sandbox/webhook`,
    CLAIMS_WEBHOOK_SECRET: `${SECRET},${OLD_SECRET}`,
  } as unknown as Env;
});

async function runWebhooks(ids: string[]) {
  const batch = createMessageBatch(
    "amrit-webhooks",
    ids.map((id, i) => ({ id: `w-${i}-${id}`, timestamp: new Date(), attempts: 1, body: { type: "claim-webhook", id } })),
  );
  const ctx = createExecutionContext();
  await consumeWebhooks(batch, hooked, ctx);
  return getQueueResult(batch, ctx);
}

const received = async (claimId: string) =>
  ((await assam("GET", "/__sandbox/webhooks")).json.webhooks as { headers: Record<string, string>; body: string; answered: number }[]).filter(
    (w) => JSON.parse(w.body).data?.claimId === claimId,
  );

describe("Standard Webhooks signatures, against vectors computed outside this code", () => {
  it("reproduces the specification's published vector", async () => {
    const v = vectors.spec;
    expect(await signWebhook(webhookKeys(v.secret)!, v.id, v.timestamp, v.body)).toBe(v.signature);
    expect(await verifyWebhook(v.secret, { id: v.id, timestamp: String(v.timestamp), signature: v.signature }, v.body, v.timestamp)).toBe(true);
  });

  it("signs once per secret during a rotation, space-separated, in the order the secrets are listed", async () => {
    const v = vectors.rotation;
    expect(await signWebhook(webhookKeys(v.secrets.join(","))!, v.id, v.timestamp, v.body)).toBe(v.signature);
    for (const secret of v.secrets)
      expect(await verifyWebhook(secret, { id: v.id, timestamp: String(v.timestamp), signature: v.signature }, v.body, v.timestamp)).toBe(true);
  });

  it("refuses a change to any one signed part, a stale timestamp, another secret and malformed secrets", async () => {
    const v = vectors.spec;
    const h = { id: v.id, timestamp: String(v.timestamp), signature: v.signature };
    expect(await verifyWebhook(v.secret, h, v.body.replace("2432232314", "2432232315"), v.timestamp)).toBe(false);
    expect(await verifyWebhook(v.secret, { ...h, id: "msg_other" }, v.body, v.timestamp)).toBe(false);
    expect(await verifyWebhook(v.secret, { ...h, timestamp: String(v.timestamp + 1) }, v.body, v.timestamp)).toBe(false);
    expect(await verifyWebhook(v.secret, h, v.body, v.timestamp + 301)).toBe(false);
    expect(await verifyWebhook(vectors.rotation.secrets[0], h, v.body, v.timestamp)).toBe(false);
    expect(webhookKeys("whsec_not base64!")).toBeNull();
    expect(webhookKeys("whsec_c2hvcnQ=")).toBeNull(); // 5 bytes: too short
  });
});

describe("claim status webhooks (CLAIMS_WEBHOOK_URL)", () => {
  it("each status change is posted, signed as Standard Webhooks with every secret, and retried until delivered", async () => {
    const body = claimBody({ schedule: "cutoff" });
    expect((await call("POST", "/v1/claims", { token: client.token, body })).status).toBe(202);
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
    expect(ok.headers["webhook-id"]).toBe(row.id);
    expect(ok.headers["webhook-id"]).toBe(JSON.parse(ok.body).id);
    const h = { id: ok.headers["webhook-id"], timestamp: ok.headers["webhook-timestamp"], signature: ok.headers["webhook-signature"] };
    expect(h.signature).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$/);
    const now = Math.floor(Date.now() / 1000);
    expect(await verifyWebhook(SECRET, h, ok.body, now)).toBe(true);
    expect(await verifyWebhook(OLD_SECRET, h, ok.body, now)).toBe(true);
    expect(await verifyWebhook(vectors.spec.secret, h, ok.body, now)).toBe(false);
    expect(await verifyWebhook(SECRET, h, ok.body.replace("PENDING", "ACCEPTED"), now)).toBe(false);
    // The retry was the same event: the same webhook-id.
    expect(got[0].headers["webhook-id"]).toBe(row.id);
    expect(JSON.parse(ok.body)).toMatchObject({
      type: "claim.status_changed",
      data: { claimId: body.claimId, previousStatus: "QUEUED", status: "PENDING", totalAmount: 700 },
    });

    // The next change (PENDING → ACCEPTED on a poll) is another event.
    const polled = await pollClaim(hooked, db(), body.claimId, { from: ["PENDING"], maxWaitMs: 5_000 });
    expect(polled.step).toBe("changed");
    const next = await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all();
    expect(next.map((w) => w.claimStatus).sort()).toEqual(["ACCEPTED", "PENDING"]);
  });

  it("replaying a webhook's dead letter re-sends the notification and leaves the claim alone (issue 15 item 4)", async () => {
    const oneTry = { ...hooked, DELIVERY_MAX_ATTEMPTS: "1" } as unknown as Env;
    const body = claimBody({ schedule: "cutoff" });
    expect((await call("POST", "/v1/claims", { token: client.token, body })).status).toBe(202);
    await forceQueued([body.claimId], "wh-dl");
    await runClaimsConsumer([{ type: "deliver", claimId: body.claimId, dispatchId: "wh-dl" }], hooked);
    const [hook] = await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all();
    await assamConfig({ webhookFailFirst: 1 });
    const batch = createMessageBatch("amrit-webhooks", [
      { id: `w-dl-${hook.id}`, timestamp: new Date(), attempts: 1, body: { type: "claim-webhook", id: hook.id } },
    ]);
    const ctx = createExecutionContext();
    await consumeWebhooks(batch, oneTry, ctx);
    await getQueueResult(batch, ctx);
    expect((await db().select().from(claimWebhooks).where(eq(claimWebhooks.id, hook.id)).get())!.state).toBe("FAILED");
    // The dead-letter consumer records it (through the real queue).
    const letter = await vi.waitFor(
      async () => {
        const r = await db()
          .select()
          .from(deadLetters)
          .where(and(eq(deadLetters.subjectId, body.claimId), eq(deadLetters.kind, "claim-webhook")))
          .get();
        if (!r) throw new Error("no dead letter yet");
        return r;
      },
      { timeout: 5_000, interval: 50 },
    );
    const posts = (await portalCounts([body.claimId]))[body.claimId].posts;

    // Three operators at once: one re-sends (audited), the others are told there is nothing left
    // (before: all three answered 200 and each wrote an audit row, two for replays that did nothing).
    const replays = await Promise.all([1, 2, 3].map(() => call("POST", `/v1/admin/dead-letters/${letter.id}/replay`, { admin: true })));
    expect(replays.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect(await db().select().from(claimWebhooks).where(eq(claimWebhooks.id, hook.id)).get()).toMatchObject({ state: "PENDING", attempts: 0 });
    // The claim was not sent to the portal again, nor changed.
    expect((await claimRow(body.claimId))!.status).toBe("PENDING");
    expect((await portalCounts([body.claimId]))[body.claimId].posts).toBe(posts);
    // …and the notification goes out.
    await runWebhooks([hook.id]);
    expect((await db().select().from(claimWebhooks).where(eq(claimWebhooks.id, hook.id)).get())!.state).toBe("DELIVERED");
    const audit = await call("GET", `/v1/admin/audit?action=claim.webhook.replay&targetId=${body.claimId}`, { admin: true });
    expect(audit.json.items).toHaveLength(1);
  });

  it("the cut-off's SCHEDULED → QUEUED is a status change too", async () => {
    const { processCutoffPage } = await import("../../src/domain/claims/schedule");
    // A period no other test file uses and earlier than theirs (the files share storage, and a
    // cut-off page takes every SCHEDULED claim up to its period): this claim is the page's only one.
    const body = claimBody({ schedule: "cutoff", period: "2000-02", activities: [{ code: "HBNC_VISIT", count: 1, amount: 100 }] });
    expect((await call("POST", "/v1/claims", { token: client.token, body })).status).toBe(202);
    expect(await processCutoffPage(hooked, db(), { type: "cutoff-page", runId: "wh-cutoff", upTo: "2000-02", after: null, page: 0 })).toBe(1);
    const rows = await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all();
    expect(rows.map((r) => r.claimStatus)).toEqual(["QUEUED"]);
    expect(JSON.parse(rows[0].payload).data).toMatchObject({ previousStatus: "SCHEDULED", status: "QUEUED" });
  });

  it("nothing is written to the outbox when no webhook URL is configured", async () => {
    const body = claimBody({ schedule: "cutoff" });
    expect((await call("POST", "/v1/claims", { token: client.token, body })).status).toBe(202);
    await forceQueued([body.claimId], "nowh");
    await runClaimsConsumer([{ type: "deliver", claimId: body.claimId, dispatchId: "nowh" }]);
    expect(await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all()).toEqual([]);
  });

  it("a webhook URL without its secret stops neither delivery nor the outbox; the event waits for the fix", async () => {
    const noSecret = { ...env, CLAIMS_WEBHOOK_URL: `${env.TEST_SANDBOX_URL}/assam/__sandbox/webhook` } as unknown as Env;
    const body = claimBody({ schedule: "cutoff" });
    expect((await call("POST", "/v1/claims", { token: client.token, body })).status).toBe(202);
    await forceQueued([body.claimId], "nosecret");
    await runClaimsConsumer([{ type: "deliver", claimId: body.claimId, dispatchId: "nosecret" }], noSecret);
    const claim = await call("GET", `/v1/claims/${body.claimId}`, { token: client.token });
    expect(claim.json.status).toBe("PENDING");
    const rows = await db().select().from(claimWebhooks).where(eq(claimWebhooks.claimId, body.claimId)).all();
    expect(rows).toHaveLength(1);
    const batch = createMessageBatch("amrit-webhooks", [
      { id: "w-nosecret", timestamp: new Date(), attempts: 1, body: { type: "claim-webhook", id: rows[0].id } },
    ]);
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
