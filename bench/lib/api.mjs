// Helpers that speak the gateway's contract and read the sandbox's inspection routes.
import { randomUUID } from "node:crypto";
import { log, sleep } from "./harness.mjs";

/** A month that has ended in IST (two months back), as YYYY-MM. */
export function endedPeriod(monthsBack = 2) {
  const ist = new Date(Date.now() + 330 * 60_000);
  const d = new Date(Date.UTC(ist.getUTCFullYear(), ist.getUTCMonth() - monthsBack, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** ASHA ids the Assam sandbox recognises (^AS-ASHA-\d{6}$), one per claim: one claim per ASHA per month. */
export const ashaId = (n) => `AS-ASHA-${String(n).padStart(6, "0")}`;

export function claimBody(n, { period, schedule = "now", claimId = randomUUID() } = {}) {
  return {
    claimId,
    ashaId: ashaId(n),
    period,
    verifiedBy: { employeeId: "34455", name: "ASHA Supervisor" },
    activities: [
      { code: "HBNC_VISIT", count: 3, amount: 300 },
      { code: "ANC_VISIT", count: 5, amount: 400 },
    ],
    schedule,
  };
}

export async function json(url, init = {}) {
  const r = await fetch(url, init);
  const text = await r.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: r.status, body };
}

/** Loads the sandbox's sample catalogue into the gateway as its first version, as `npm start` does. */
export async function loadCatalogue(stack) {
  const cat = await fetch(`${stack.topo.sandboxUrl}/assam/__sandbox/catalogue`);
  if (!cat.ok) return { loaded: false, status: cat.status };
  const put = await fetch(`${stack.topo.gatewayUrl}/v1/admin/catalogue`, { method: "PUT", headers: stack.admin, body: await cat.text() });
  return { loaded: put.ok, status: put.status };
}

/** Runtime options of the Assam sandbox (e.g. immediateDecision: the 202 carries ACCEPTED). */
export async function assamConfig(stack, patch) {
  return json(`${stack.topo.sandboxUrl}/assam/__sandbox/config`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(patch),
  });
}

export async function assamStats(stack) {
  return (await json(`${stack.topo.sandboxUrl}/assam/__sandbox/stats`)).body;
}

/** Per-claim counts at the Assam sandbox (posts, creates, replays, conflicts, status), in pages of 2,000 ids. */
export async function assamCounts(stack, ids) {
  const out = {};
  for (let i = 0; i < ids.length; i += 2000) {
    const r = await json(`${stack.topo.sandboxUrl}/assam/__sandbox/counts`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ids: ids.slice(i, i + 2000) }),
    });
    Object.assign(out, r.body);
  }
  return out;
}

export async function setFaults(stack, portal, faults) {
  return json(`${stack.topo.sandboxUrl}/__sandbox/faults/${portal}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(faults),
  });
}
export async function clearFaults(stack) {
  return fetch(`${stack.topo.sandboxUrl}/__sandbox/faults`, { method: "DELETE" });
}
export async function faultStats(stack) {
  return (await json(`${stack.topo.sandboxUrl}/__sandbox/faults`)).body;
}

/** Claims per status in the gateway's D1 ledger (read directly from the local D1). */
export async function ledgerByStatus(stack, where = "1=1", params = []) {
  const db = await stack.gateway.mf.getD1Database("DB", "gateway");
  const r = await db
    .prepare(`SELECT status, count(*) AS n FROM claims WHERE ${where} GROUP BY status`)
    .bind(...params)
    .all();
  return Object.fromEntries(r.results.map((x) => [x.status, x.n]));
}

export async function d1(stack) {
  return stack.gateway.mf.getD1Database("DB", "gateway");
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; returns { value, ms }. */
export async function waitFor(check, { timeoutMs, everyMs = 1000, label = "" }) {
  const t0 = Date.now();
  let last;
  for (;;) {
    last = await check();
    if (last?.done) return { ...last, ms: Date.now() - t0, timedOut: false };
    if (Date.now() - t0 > timeoutMs) return { ...last, ms: Date.now() - t0, timedOut: true };
    if (label && (Date.now() - t0) % 10_000 < everyMs) log(`${label}: ${JSON.stringify(last?.progress ?? last)}`);
    await sleep(everyMs);
  }
}

export const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);
