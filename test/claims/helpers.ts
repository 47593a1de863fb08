import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { call, createClient, type TestClient } from "../helpers/gateway";
import { sandbox } from "../helpers/sandbox";
import { createDb } from "../../src/storage/db";
import { claims } from "../../src/storage/schema/claims";
import { SAMPLE_CATALOGUE } from "../../src/sandbox/assam/sample-catalogue";
import { consumeClaimsDelivery } from "../../src/queues/claims-delivery.consumer";
import type { Env } from "../../src/env";

export const db = () => createDb(env.DB);

export const ENDED = "2026-01";

let seq = 0;
/** A registered-looking ASHA id, unique per call (the sandbox recognises ^AS-ASHA-\d{6}$). */
export const ashaId = () => `AS-ASHA-${String((Date.now() * 7 + ++seq * 7919) % 1_000_000).padStart(6, "0")}`;

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

export async function portalCounts(ids: string[]): Promise<Record<string, { posts: number; creates: number; replays: number; conflicts: number; polls: number; status: string | null }>> {
  return (await assam("POST", "/__sandbox/counts", { ids })).json;
}

export async function setupClient(scopes: Parameters<typeof createClient>[0] = ["claims:write", "claims:read"]): Promise<TestClient> {
  return createClient(scopes, "claims test client");
}

/** Polls the ledger until every claim has one of `statuses` (or the time runs out). */
export async function waitForStatuses(ids: string[], statuses: string[], timeoutMs = 60_000): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 90) {
      const part = ids.slice(i, i + 90);
      for (const r of await db().select({ id: claims.id, status: claims.status }).from(claims).where(inArray(claims.id, part)).all()) rows.set(r.id, r.status);
    }
    if ([...rows.values()].filter((s) => statuses.includes(s)).length === ids.length || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Makes a (SCHEDULED) claim QUEUED for a message the test delivers itself. */
export async function forceQueued(ids: string[], dispatchId: string) {
  await db()
    .update(claims)
    .set({ status: "QUEUED", dispatchId, leaseOwner: null, leaseUntil: Date.now() + 300_000 })
    .where(inArray(claims.id, ids));
}

export const claimRow = (id: string) => db().select().from(claims).where(eq(claims.id, id)).get();

/** Runs the claims consumer on a batch, against any env (e.g. one with a lower ASSAM_MAX_RPS). */
export async function runClaimsConsumer(bodies: unknown[], e: Env = env as unknown as Env) {
  const batch = createMessageBatch("amrit-claims-delivery", bodies.map((body, i) => ({ id: `m-${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })));
  const ctx = createExecutionContext();
  await consumeClaimsDelivery(batch, e, ctx);
  return getQueueResult(batch, ctx);
}
