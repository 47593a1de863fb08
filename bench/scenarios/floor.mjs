// 8. Floor (diagnostic, run only when named: `npm run bench -- --only floor`): what the steps the
// contract asks of every pass-through call cost on this runtime apart from how the gateway is
// written. bench/floor-worker.js is the bare pass-through with those steps added one by one (its own
// workerd each); the gateway (started without the rate-limiting binding) runs beside them, all
// interleaved. Per target: req/s at 16 connections and the CPU its workerd process used per request.
import { join } from "node:path";
import {
  ROOT,
  cpuSeconds,
  createClient,
  freePort,
  gatewayWorkerOptions,
  load,
  log,
  median,
  round,
  startMiniflare,
  startStack,
  threadLoad,
} from "../lib/harness.mjs";

const CONTRACT = "auth,timeout,parse,log,txlog";
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

export default {
  name: "floor",
  title: "Floor: the contract's per-call steps in a bare Worker, one by one, beside the gateway",
  onlyWhenNamed: "a diagnostic of where the overhead goes; about 3.5 minutes",
  async run({ bundles, quick }) {
    const stack = await startStack(bundles, { rateLimit: null });
    const workers = [];
    try {
      const client = await createClient(stack, ["health"], "bench floor");
      const k = stack.topo.keys.gateway;
      for (const [name, steps] of VARIANTS) {
        const port = await freePort();
        const w = await startMiniflare({
          host: "127.0.0.1",
          port,
          handleStructuredLogs: () => {},
          workers: [
            {
              name: "floor",
              modules: true,
              scriptPath: join(ROOT, "bench", "floor-worker.js"),
              compatibilityDate: "2026-11-01",
              bindings: {
                UMANG_BASE_URL: k.UMANG_BASE_URL,
                UMANG_API_TOKEN: k.UMANG_API_TOKEN,
                UMANG_TKN: k.UMANG_TKN,
                UMANG_USER_ID: k.UMANG_USER_ID,
                STEPS: steps,
              },
              ratelimits: {
                LIMITER: { ...gatewayWorkerOptions().ratelimits.CLIENT_RATE_LIMITER, name: "LIMITER", simple: { limit: 1_000_000, period: 60 } },
              },
              d1Databases: { DB: { id: `floor-${name.replace(/\W+/g, "-")}` } },
            },
          ],
        });
        workers.push(w);
        workers.at(-1).target = { name, steps, pid: w.pid, url: `http://127.0.0.1:${port}/v1/health/states` };
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
      return {
        method: `${rounds} interleaved rounds × ${duration} s at 16 connections per target; medians. CPU: user + system time of the target's workerd process (both its threads) during the load, per request served. Each floor Worker runs in its own workerd with its own local D1 and rate limiter; the gateway in its own with every binding but the rate limiter`,
        summary,
        runs,
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
    return { rows, notes: [r.method] };
  },
};
