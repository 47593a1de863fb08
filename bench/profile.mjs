#!/usr/bin/env node
// `npm run bench:profile -- [path] [seconds]`: a CPU profile of the gateway's isolate while it serves
// one route under load (16 connections), summarised by self time per function. Where the time of a
// request goes, independent of how busy the machine is (proportions, not speeds). The path
// `/v1/claims` profiles the claims scenario's load instead: POST /v1/claims at 8 connections, a new
// claim each request, delivered to the Assam sandbox meanwhile; `/v1/payment-instructions` the funds
// scenario's (16 connections, ₹1 each against one funded head of account).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { ROOT, buildBundles, createClient, ensureDir, load, log, startStack } from "./lib/harness.mjs";
import { assamConfig, claimBody, endedPeriod, loadCatalogue } from "./lib/api.mjs";
import { hoa, piBody } from "./scenarios/funds.mjs";

const path = process.argv[2] ?? "/v1/health/states";
const seconds = Number(process.argv[3] ?? 8);
/** `/v1/payment-instructions` only: PIs spread over this many heads of account (the funds scenario's 100-account case). */
const accounts = Number(process.argv[4] ?? 1);

const bundles = buildBundles();
const stack = await startStack(bundles, { inspect: true });
try {
  const client = await createClient(stack, ["health", "health:bridge", "claims:read", "claims:write"], "profile");
  const targets = await (await fetch(`http://127.0.0.1:${stack.gateway.inspectorPort}/json`)).json();
  const target = targets.find((t) => /gateway/.test(`${t.id} ${t.title} ${t.url}`)) ?? targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
  let id = 0;
  const pending = new Map();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.id && pending.has(m.id)) pending.get(m.id)(m.result), pending.delete(m.id);
  };
  const call = (method, params = {}) => new Promise((r) => (pending.set(++id, r), ws.send(JSON.stringify({ id, method, params }))));
  let req = { url: `${stack.topo.gatewayUrl}${path}`, headers: { "X-API-Key": client.apiKey } };
  let connections = 16;
  if (path === "/v1/claims") {
    await loadCatalogue(stack);
    await assamConfig(stack, { immediateDecision: true, pendingPolls: 0 });
    const period = endedPeriod();
    let next = 0;
    connections = 8;
    req = {
      ...req,
      method: "POST",
      headers: { ...req.headers, "Content-Type": "application/json" },
      requests: [{ setupRequest: (r) => ({ ...r, body: JSON.stringify(claimBody(next++, { period, claimId: randomUUID() })) }) }],
    };
  }
  if (path === "/v1/payment-instructions") {
    const funds = await createClient(stack, ["funds:write", "funds:read"], "profile funds", ["*"]);
    const headers = { "X-API-Key": funds.apiKey, "Content-Type": "application/json" };
    const tenantId = `profile-${randomUUID().slice(0, 8)}`;
    for (let k = 0; k < accounts; k++) {
      const allotment = { txnId: randomUUID(), tenantId, headOfAccount: hoa(k), ssuCode: "SSU-001", type: "INITIAL_ALLOTMENT", amount: 10_000_000 };
      const a = await fetch(`${stack.topo.gatewayUrl}/v1/funds/allotments`, { method: "POST", headers, body: JSON.stringify(allotment) });
      if (a.status !== 201) throw new Error(`allotment: ${a.status}`);
    }
    let n = 0;
    req = {
      ...req,
      method: "POST",
      headers,
      requests: [
        {
          setupRequest: (r) => ({
            ...r,
            body: JSON.stringify(piBody({ tenantId, headOfAccount: hoa(n++ % accounts), ssuCode: "SSU-001", amount: 1 })),
          }),
        },
      ],
    };
  }
  await load({ ...req, connections: 8, duration: 2 }); // warm
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Profiler.start");
  const r = await load({ ...req, connections, duration: seconds });
  const { profile } = await call("Profiler.stop");
  ws.close();
  const dt = profile.timeDeltas;
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const total = profile.samples.length;
  for (const s of profile.samples) {
    const n = byId.get(s);
    const f = n.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40);
  log(`${path}: ${Math.round(r.rps)} req/s over ${seconds} s; ${total} samples; self time, top 40:`);
  for (const [k, v] of top) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  ensureDir(join(ROOT, "bench", "results"));
  writeFileSync(join(ROOT, "bench", ".build", "profile.cpuprofile"), JSON.stringify(profile));
  void dt;
} finally {
  await stack.stop();
}
process.exit(0);
