// 8. Floor (diagnostic, run only when named: `npm run bench -- --only floor`): what the steps the
// contract asks of every pass-through call cost on this runtime apart from how the gateway is
// written. bench/floor-worker.js is the bare pass-through with those steps added one by one (its own
// workerd each); the gateway (started without the rate-limiting binding) runs beside them, all
// interleaved. Per target: req/s at 16 connections and the CPU its workerd process used per request.
// Then the same for claims: bench/floor-claims-worker.js, the least a claim's intake and delivery
// can do (one D1 batch and one queue send; a leased, parallel, batch-written delivery), with and
// without the binding, beside the gateway's POST /v1/claims.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { assamConfig, assamCounts, claimBody, endedPeriod, loadCatalogue, waitFor } from "../lib/api.mjs";
import {
  ROOT,
  benchLimiter,
  benchWorkerModules,
  cpuSeconds,
  createClient,
  freePort,
  load,
  log,
  median,
  round,
  startMiniflare,
  startStack,
  threadLoad,
} from "../lib/harness.mjs";
// As the claims scenario: the Assam pace raised so that the pacer is not what is measured.
import { CLAIMS_PACE } from "./claims.mjs";

const CONTRACT = "auth,timeout,parse,log,txlog";
/** The floor Worker's variants: a name and its STEPS. */
const VARIANTS = [
  ["bare", ""],
  ["auth", "auth"],
  ["timeout", "timeout"],
  ["parse", "parse"],
  ["log", "log"],
  ["txlog", "txlog"],
  ["limit", "limit"],
  ["contract", CONTRACT],
  ["contract + limit", `${CONTRACT},limit`],
];
let claimSeq = 0;

/**
 * One floor Worker (bench/<script>) in its own workerd, with `bindings`, a rate-limiting binding
 * LIMITER as the load runs configure the gateway's, a local D1 of its own (`id`) and `more` options.
 */
async function startFloorWorker(script, id, bindings, more = {}) {
  const port = await freePort();
  const w = await startMiniflare({
    host: "127.0.0.1",
    port,
    handleStructuredLogs: () => {},
    workers: [
      {
        name: id,
        ...benchWorkerModules(script),
        compatibilityDate: "2026-11-01",
        bindings,
        ratelimits: benchLimiter(),
        d1Databases: { DB: { id } },
        ...more,
      },
    ],
  });
  return { ...w, port };
}

/**
 * One claims load at 8 connections against `url`, then until every acknowledged claim is at the
 * sandbox: accepted/s, and the CPU of `pid` (its workerd) per accepted claim over load and delivery.
 */
async function claimsLoad(stack, { url, pid, headers }, duration) {
  const period = endedPeriod();
  const accepted = [];
  const cpu0 = cpuSeconds(pid);
  const threads = threadLoad(pid);
  const r = await load({
    url,
    method: "POST",
    connections: 8,
    duration,
    headers: { ...headers, "Content-Type": "application/json" },
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: JSON.stringify(claimBody(claimSeq++, { period, claimId: randomUUID() })) }),
        onResponse: (status, body) => {
          if (status === 202) accepted.push(JSON.parse(body).claimId);
        },
      },
    ],
  });
  const busy = threads.stop();
  const reached = await waitFor(
    async () => {
      const counts = await assamCounts(stack, accepted);
      return { done: accepted.every((id) => counts[id]?.creates >= 1) };
    },
    { timeoutMs: 60_000, everyMs: 250 },
  );
  return {
    acceptedPerS: accepted.length / r.durationS,
    accepted: accepted.length,
    allAtSandbox: !reached.timedOut,
    cpuMsPerClaim: accepted.length ? ((cpuSeconds(pid) - cpu0) * 1000) / accepted.length : null,
    busiestThreadPercent: busy?.busiestThreadPercent ?? null,
  };
}

export default {
  name: "floor",
  title: "Floor: the contract's per-call steps in a bare Worker, one by one, and the least a claim can do, beside the gateway",
  onlyWhenNamed: "a diagnostic of where the overhead goes; about 4 minutes",
  async run({ bundles, quick }) {
    const stack = await startStack(bundles, { rateLimit: null, vars: { ASSAM_MAX_RPS: String(CLAIMS_PACE) } });
    const workers = [];
    try {
      const client = await createClient(stack, ["health"], "bench floor");
      const k = stack.topo.keys.gateway;
      for (const [name, steps] of VARIANTS) {
        const w = await startFloorWorker("floor-worker.js", `floor-${name.replace(/\W+/g, "-")}`, {
          UMANG_BASE_URL: k.UMANG_BASE_URL,
          UMANG_API_TOKEN: k.UMANG_API_TOKEN,
          UMANG_TKN: k.UMANG_TKN,
          UMANG_USER_ID: k.UMANG_USER_ID,
          STEPS: steps,
        });
        workers.push(w);
        w.target = { name, steps, pid: w.pid, url: `http://127.0.0.1:${w.port}/v1/health/states` };
      }
      const targets = [
        {
          name: "gateway (no rate-limiting binding)",
          steps: "the gateway's own code",
          pid: stack.gateway.pid,
          url: `${stack.topo.gatewayUrl}/v1/health/states`,
          headers: { "X-API-Key": client.apiKey },
        },
        ...workers.map((w) => ({ ...w.target, headers: { "X-API-Key": client.apiKey } })),
      ];
      for (const t of targets) {
        const r = await fetch(t.url, { headers: t.headers });
        if (r.status !== 200) throw new Error(`${t.name} answered ${r.status}`);
        await r.arrayBuffer();
        await load({ url: t.url, headers: t.headers, connections: 8, duration: 1 });
      }
      const rounds = quick ? 1 : 3;
      const duration = quick ? 3 : 5;
      const runs = Object.fromEntries(targets.map((t) => [t.name, []]));
      for (let i = 0; i < rounds; i++) {
        for (const t of targets) {
          const cpu0 = cpuSeconds(t.pid);
          const threads = threadLoad(t.pid);
          const r = await load({ url: t.url, headers: t.headers, connections: 16, duration });
          const busy = threads.stop();
          const cpuMsPerRequest = r.total ? ((cpuSeconds(t.pid) - cpu0) * 1000) / r.total : null;
          runs[t.name].push({
            rps: r.rps,
            non2xx: r.non2xx,
            errors: r.errors,
            cpuMsPerRequest,
            busiestThreadPercent: busy?.busiestThreadPercent ?? null,
          });
          log(`floor round ${i + 1}/${rounds} ${t.name}: ${round(r.rps, 0)} req/s, ${round(cpuMsPerRequest, 3)} ms CPU per request`);
        }
      }
      const summary = Object.fromEntries(
        targets.map((t) => {
          const rs = runs[t.name];
          return [
            t.name,
            {
              steps: t.steps,
              rps: round(median(rs.map((r) => r.rps)), 0),
              cpuMsPerRequest: round(median(rs.map((r) => r.cpuMsPerRequest)), 3),
              busiestThreadPercent: median(rs.map((r) => r.busiestThreadPercent)),
              non2xx: rs.reduce((a, r) => a + r.non2xx + r.errors, 0),
            },
          ];
        }),
      );
      const bare = summary.bare;
      for (const s of Object.values(summary)) {
        s.vsBareThroughput = round(s.rps / bare.rps, 2);
        s.addedCpuMsPerRequest = round(s.cpuMsPerRequest - bare.cpuMsPerRequest, 3);
      }
      // Claims: the gateway's POST /v1/claims (no binding) beside the claims floor with and without it.
      await loadCatalogue(stack);
      await assamConfig(stack, { immediateDecision: true, pendingPolls: 0 });
      const claimsClient = await createClient(stack, ["claims:write", "claims:read"], "bench floor claims");
      for (const [name, steps] of [
        ["claims floor", ""],
        ["claims floor + limit", "limit"],
      ]) {
        const queueName = `floor-claims-${workers.length}`;
        const w = await startFloorWorker(
          "floor-claims-worker.js",
          queueName,
          { ASSAM_BASE_URL: k.ASSAM_BASE_URL, ASSAM_CLIENT_ID: k.ASSAM_CLIENT_ID, ASSAM_CLIENT_SECRET: k.ASSAM_CLIENT_SECRET, STEPS: steps },
          // As wrangler.jsonc's claims consumer.
          { queueProducers: { CLAIMS: { queueName } }, queueConsumers: { [queueName]: { maxBatchSize: 100, maxBatchTimeout: 1 } } },
        );
        workers.push(w);
        w.target = { name, steps, pid: w.pid, url: `http://127.0.0.1:${w.port}/v1/claims`, claims: true };
      }
      const claimTargets = [
        {
          name: "gateway POST /v1/claims (no rate-limiting binding)",
          pid: stack.gateway.pid,
          url: `${stack.topo.gatewayUrl}/v1/claims`,
          headers: { "X-API-Key": claimsClient.apiKey },
        },
        ...workers.filter((w) => w.target.claims).map((w) => ({ ...w.target, headers: { "X-API-Key": claimsClient.apiKey } })),
      ];
      const claimRuns = Object.fromEntries(claimTargets.map((t) => [t.name, []]));
      for (const t of claimTargets) await claimsLoad(stack, t, 1); // warm-up
      for (let i = 0; i < (quick ? 1 : 2); i++) {
        for (const t of claimTargets) {
          const x = await claimsLoad(stack, t, duration);
          claimRuns[t.name].push(x);
          log(
            `floor claims round ${i + 1} ${t.name}: ${round(x.acceptedPerS, 0)} accepted/s, ${round(x.cpuMsPerClaim, 2)} ms CPU per claim, all at the sandbox: ${x.allAtSandbox}`,
          );
        }
      }
      const claims = Object.fromEntries(
        claimTargets.map((t) => {
          const rs = claimRuns[t.name];
          return [
            t.name,
            {
              steps: t.steps ?? "the gateway's own code",
              acceptedPerS: round(median(rs.map((r) => r.acceptedPerS)), 1),
              cpuMsPerClaim: round(median(rs.map((r) => r.cpuMsPerClaim)), 2),
              busiestThreadPercent: median(rs.map((r) => r.busiestThreadPercent)),
              allAtSandbox: rs.every((r) => r.allAtSandbox),
            },
          ];
        }),
      );
      return {
        method: `${rounds} interleaved rounds × ${duration} s at 16 connections per target; medians. CPU: user + system time of the target's workerd process (both its threads) during the load, per request served. Each floor Worker runs in its own workerd with its own local D1 and rate limiter; the gateway in its own with every binding but the rate limiter`,
        claimsMethod: `${quick ? 1 : 2} interleaved rounds × ${duration} s at 8 connections per target, a new claim each request, until every acknowledged claim is at the Assam sandbox; medians. CPU: the target's workerd from load start until then, per accepted claim (intake and delivery)`,
        summary,
        claims,
        runs,
        claimRuns,
      };
    } finally {
      for (const w of workers) await w.mf.dispose().catch(() => {});
      await stack.stop();
    }
  },
  table(r) {
    const rows = [["target", "steps", "req/s (16 conn)", "÷ bare", "CPU ms per request", "+ CPU ms over bare", "busiest thread %", "non-2xx"]];
    for (const [name, s] of Object.entries(r.summary))
      rows.push([name, s.steps || "–", s.rps, `${s.vsBareThroughput}×`, s.cpuMsPerRequest, s.addedCpuMsPerRequest, s.busiestThreadPercent, s.non2xx]);
    const notes = [r.method];
    if (r.claims) {
      rows.push(["claims target", "steps", "accepted/s (8 conn)", "", "CPU ms per claim", "", "busiest thread %", "all at the sandbox"]);
      for (const [name, s] of Object.entries(r.claims))
        rows.push([name, s.steps || "–", s.acceptedPerS, "", s.cpuMsPerClaim, "", s.busiestThreadPercent, s.allAtSandbox ? "yes" : "**no**"]);
      notes.push(r.claimsMethod);
    }
    return { rows, notes };
  },
};
