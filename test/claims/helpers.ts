import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { vi } from "vitest";
import { eq, inArray } from "drizzle-orm";
import { call, createClient, type TestClient } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
import { createDb } from "../../src/storage/db";
import { claims } from "../../src/storage/schema/claims";
import { claimSubmissions } from "../../src/storage/schema/claim-submissions";
import { SAMPLE_CATALOGUE } from "../../src/sandbox/assam/sample-catalogue";
import type { ScriptedAnswer } from "../../src/sandbox/assam/app";
import { consumeClaimsDelivery } from "../../src/queues/claims-delivery.consumer";
import type { Env } from "../../src/env";

export const db = () => createDb(env.DB);

export const ENDED = "2026-01";

/**
 * A registered-looking ASHA id (the sandbox recognises ^AS-ASHA-\d{6}$), unique per call within a test
 * worker: a random start, then one step per call. (It was mixed from the clock and a counter, which
 * repeated an id now and then; two claims of one ASHA and month then met the one-claim-per-month rule
 * by chance: a 500-claim batch's follow-up read in test/lib/round-trips.test.ts, d1=2.)
 */
const ASHA_START = Math.floor(Math.random() * 1_000_000);
let seq = 0;
export const ashaId = () => `AS-ASHA-${String((ASHA_START + ++seq) % 1_000_000).padStart(6, "0")}`;

export function claimBody(over: Record<string, unknown> = {}) {
  return {
    claimId: crypto.randomUUID(),
    ashaId: ashaId(),
    period: ENDED,
    verifiedBy: { employeeId: "34455", name: "ASHA Supervisor" },
    activities: [
      { code: "HBNC_VISIT", count: 3, amount: 300 },
      { code: "ANC_VISIT", count: 5 },
    ],
    ...over,
  };
}

export async function putSampleCatalogue() {
  const res = await call("PUT", "/v1/admin/catalogue", { admin: true, body: SAMPLE_CATALOGUE });
  if (res.status !== 201 && res.status !== 200) throw new Error(`catalogue: ${res.status} ${res.text}`);
}

export const assam = (method: string, path: string, body?: unknown) => sandbox(method, `/assam${path}`, body);
export const assamConfig = (patch: Record<string, unknown>) => assam("PUT", "/__sandbox/config", patch);
/** Scripted portal answers, scoped to the given submission ids (the sandbox is shared by a file's tests). */
export const assamScript = (answers: ScriptedAnswer[]) => assam("PUT", "/__sandbox/script", answers);
export const clearAssamScript = () => assam("DELETE", "/__sandbox/script");

export async function portalCounts(
  ids: string[],
): Promise<Record<string, { posts: number; creates: number; replays: number; conflicts: number; polls: number; status: string | null }>> {
  return (await assam("POST", "/__sandbox/counts", { ids })).json;
}

/** Every raw POST the portal received for a submission id: arrival time and SHA-256 of the bytes. */
export async function portalPosts(id: string): Promise<{ at: number; sha256: string }[]> {
  return (await assam("GET", `/__sandbox/posts/${id}`)).json.posts;
}

export async function setupClient(scopes: Parameters<typeof createClient>[0] = ["claims:write", "claims:read"]): Promise<TestClient> {
  return createClient(scopes, "claims test client");
}

async function statusesOf(ids: string[]): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 90) {
    const part = ids.slice(i, i + 90);
    for (const r of await db().select({ id: claims.id, status: claims.status }).from(claims).where(inArray(claims.id, part)).all())
      rows.set(r.id, r.status);
  }
  return rows;
}

/**
 * Waits until every claim has one of `statuses`; fails (throws, naming the stragglers) when the time
 * runs out. Answers the statuses seen.
 */
export async function waitForStatuses(ids: string[], statuses: string[], timeoutMs = 30_000): Promise<Map<string, string>> {
  return vi.waitFor(
    async () => {
      const rows = await statusesOf(ids);
      const missing = ids.filter((id) => !statuses.includes(rows.get(id) ?? ""));
      if (missing.length) {
        throw new Error(
          `${missing.length} of ${ids.length} claims not in ${statuses.join("/")}: e.g. ${missing
            .slice(0, 3)
            .map((id) => `${id}=${rows.get(id) ?? "absent"}`)
            .join(", ")}`,
        );
      }
      return rows;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

/** Makes a (SCHEDULED) claim QUEUED for a message the test delivers itself. */
export async function forceQueued(ids: string[], dispatchId: string) {
  await db()
    .update(claims)
    .set({ status: "QUEUED", dispatchId, leaseOwner: null, leaseUntil: Date.now() + 300_000 })
    .where(inArray(claims.id, ids));
}

export const claimRow = (id: string) => db().select().from(claims).where(eq(claims.id, id)).get();

/**
 * Waits until the claims queue has worked through every message sent before this call. In tests the
 * queue hands out one batch at a time, in order (max_batch_timeout 0): a probe claim sent now reaches
 * the portal only after everything ahead of it, and a second probe only after the first one's whole
 * batch has finished. Delayed messages (retries scheduled for later) are not waited for.
 */
export async function drainClaimsQueue(timeoutMs = 15_000) {
  for (let probe = 0; probe < 2; probe++) {
    const { submitClaims } = await import("../../src/domain/claims/submit");
    const claimId = crypto.randomUUID();
    const [out] = await submitClaims({ env: env as unknown as Env, db: db(), ownerId: "test-drain-probe", requestId: `drain-${claimId}` }, [
      {
        claimId,
        ashaId: ashaId(),
        period: ENDED,
        verifiedBy: { employeeId: "1", name: "probe" },
        activities: [{ code: "HBNC_VISIT", count: 1, amountPaise: 10_000 }],
        schedule: "cutoff",
      },
    ]);
    if ("error" in out) throw new Error(`drain probe refused: ${out.error.code}`);
    const dispatchId = `drain-${claimId}`;
    await forceQueued([claimId], dispatchId);
    await env.CLAIMS_DELIVERY.send({ type: "deliver", claimId, dispatchId });
    await waitForStatuses([claimId], ["PENDING", "ACCEPTED", "REJECTED", "FAILED"], timeoutMs);
  }
}

/** The stored wire body's SHA-256 (claim_submissions.body_sha256). */
export async function storedBodySha(id: string): Promise<string> {
  const row = await db().select({ sha: claimSubmissions.bodySha256 }).from(claimSubmissions).where(eq(claimSubmissions.claimId, id)).get();
  if (!row) throw new Error(`no stored wire body for ${id}`);
  return row.sha;
}

/** Runs the claims consumer on a batch, against any env (e.g. one with a lower ASSAM_MAX_RPS). */
export async function runClaimsConsumer(bodies: unknown[], e: Env = env as unknown as Env, ids?: string[]) {
  const batch = createMessageBatch(
    "amrit-claims-delivery",
    bodies.map((body, i) => ({ id: ids?.[i] ?? `m-${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await consumeClaimsDelivery(batch, e, ctx);
  return getQueueResult(batch, ctx);
}
