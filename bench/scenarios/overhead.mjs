// 1. Overhead: UMANG getStates through the gateway vs the sandbox directly vs a bare pass-through
// Worker in the same runtime. Throughput at saturation (16 connections) and latency at one
// connection (no queueing), runs interleaved round-robin so drift hits every target alike.
import {
  createClient,
  freePort,
  hasRoute,
  latencyProbe,
  load,
  log,
  median,
  round,
  sleep,
  startPassthrough,
  startStack,
  threadLoad,
} from "../lib/harness.mjs";
import { getStatesCall } from "../umang-call.js";

/**
 * A saturation run, with the busiest thread of each workerd process of the stack during it (% of one
 * core): workerd runs a process's JavaScript on one thread, so near 100% is a saturated process.
 */
async function saturate(t, opts, stack, limited) {
  const procs = { gateway: stack.gateway.pid, passthrough: stack.passthrough?.pid, limited: limited?.pid, sandbox: stack.sandbox.pid };
  const probes = Object.entries(procs)
    .filter(([, pid]) => pid)
    .map(([name, pid]) => [name, threadLoad(pid)]);
  const r = await load({ ...t, ...opts });
  r.busiestThreadPercent = Object.fromEntries(probes.map(([name, probe]) => [name, probe.stop()?.busiestThreadPercent ?? null]));
  return r;
}

export default {
  name: "overhead",
  title: "Overhead: UMANG getStates via gateway vs direct vs bare pass-through",
  async run({ bundles, quick }) {
    const stack = await startStack(bundles, { passthrough: true });
    // The same pass-through asking a rate-limiting binding first, as the gateway does per client call:
    // the local simulation of the binding (Miniflare: a Durable Object request and a SQLite write per
    // call, on the process's one thread) measured on its own, in the same interleaved runs.
    const limitedPort = await freePort();
    let limited;
    try {
      limited = await startPassthrough(stack.topo, { port: limitedPort, limiter: true });
      const umang = await hasRoute(stack, "get", "/v1/health/states");
      const client = await createClient(stack, ["health", "claims:read"], "bench overhead");
      const claimsServed = await hasRoute(stack, "get", "/v1/claims/00000000-0000-4000-8000-000000000000");
      const k = stack.topo.keys.gateway;
      const call = getStatesCall(k, 1);
      const direct = { url: call.url, ...call.init };
      const targets = {
        sandbox: direct,
        passthrough: { url: `${stack.topo.passthroughUrl}/v1/health/states` },
        passthroughLimited: { url: `http://127.0.0.1:${limitedPort}/v1/health/states` },
        gateway: umang
          ? { url: `${stack.topo.gatewayUrl}/v1/health/states`, headers: { "X-API-Key": client.apiKey } }
          : { url: `${stack.topo.gatewayUrl}/healthz` },
      };
      // Where the gateway's time goes (diagnostic, half the duration): its cheapest route without
      // auth, and an authenticated route that only reads D1 (auth lookup + one claim lookup → 404).
      const diagnostics = { healthz: { url: `${stack.topo.gatewayUrl}/healthz` } };
      if (claimsServed)
        diagnostics.authRead = {
          url: `${stack.topo.gatewayUrl}/v1/claims/00000000-0000-4000-8000-000000000000`,
          headers: { "X-API-Key": client.apiKey },
          expect404: true,
        };
      if (umang) Object.assign(targets, diagnostics);
      // Sanity: each target answers 200 once before we load it.
      const sanity = {};
      for (const [name, t] of Object.entries(targets)) {
        const r = await fetch(t.url, { method: t.method ?? "GET", headers: t.headers, body: t.body });
        sanity[name] = { status: r.status, bytes: (await r.text()).length };
      }
      log("overhead sanity", JSON.stringify(sanity), umang ? "" : "(UMANG route not there yet: gateway measured on /healthz)");

      const runs = quick ? 1 : 3;
      const satS = quick ? 3 : 6;
      const latS = quick ? 2 : 3;
      for (const t of Object.values(targets)) await load({ ...t, connections: 8, duration: quick ? 1 : 2 }); // warm-up
      const sat = Object.fromEntries(Object.keys(targets).map((n) => [n, []]));
      const lat = Object.fromEntries(Object.keys(targets).map((n) => [n, []]));
      for (let i = 0; i < runs; i++) {
        for (const [name, t] of Object.entries(targets)) {
          const diag = name in diagnostics && umang;
          sat[name].push(await saturate(t, { connections: 16, duration: diag ? Math.ceil(satS / 2) : satS }, stack, limited));
          await sleep(300);
          lat[name].push(await latencyProbe(t, diag ? Math.ceil(latS / 2) : latS));
          await sleep(300);
          log(`overhead run ${i + 1}/${runs} ${name}: ${round(sat[name].at(-1).rps, 0)} req/s, p50 at 1 connection ${lat[name].at(-1).p50} ms`);
        }
      }
      // Attribution (diagnostic): the same gateway started without the rate-limiting binding (the
      // code treats it as optional), measured against a pass-through of its own stack, so the
      // local simulation's cost per call shows apart from the gateway's own work.
      if (umang) {
        const bare = await startStack(bundles, { passthrough: true, rateLimit: null });
        try {
          const c2 = await createClient(bare, ["health"], "bench overhead, no limiter");
          const pair = {
            noLimiter: { url: `${bare.topo.gatewayUrl}/v1/health/states`, headers: { "X-API-Key": c2.apiKey } },
            noLimiterPassthrough: { url: `${bare.topo.passthroughUrl}/v1/health/states` },
          };
          for (const t of Object.values(pair)) await load({ ...t, connections: 8, duration: quick ? 1 : 2 });
          for (const [name, t] of Object.entries(pair)) {
            sat[name] = [await saturate(t, { connections: 16, duration: Math.ceil(satS / 2) }, bare)];
            await sleep(300);
            lat[name] = [await latencyProbe(t, Math.ceil(latS / 2))];
            await sleep(300);
            log(`overhead attribution ${name}: ${round(sat[name][0].rps, 0)} req/s, p50 at 1 connection ${lat[name][0].p50} ms`);
          }
          targets.noLimiter = pair.noLimiter;
          targets.noLimiterPassthrough = pair.noLimiterPassthrough;
        } finally {
          await bare.stop();
        }
      }
      const summary = {};
      for (const name of Object.keys(targets)) {
        summary[name] = {
          rps: round(median(sat[name].map((r) => r.rps)), 0),
          p50: median(sat[name].map((r) => r.p50)),
          p99: median(sat[name].map((r) => r.p99)),
          p50At1: median(lat[name].map((r) => r.p50)),
          p99At1: median(lat[name].map((r) => r.p99)),
          meanAt1: median(lat[name].map((r) => r.mean)),
          non2xx: [...sat[name], ...lat[name]].reduce((a, r) => a + r.non2xx, 0),
          errors: sat[name].reduce((a, r) => a + r.errors, 0),
          busiestThreadPercent: Object.fromEntries(
            ["gateway", "passthrough", "limited", "sandbox"].map((p) => [p, median(sat[name].map((r) => r.busiestThreadPercent?.[p]))]),
          ),
        };
      }
      const g = summary.gateway;
      const p = summary.passthrough;
      const s = summary.sandbox;
      const pl = summary.passthroughLimited;
      const ratioVsPassthrough = round(g.rps / p.rps, 2);
      const addedP50 = round(g.p50At1 - p.p50At1, 3);
      const addedMean = round(g.meanAt1 - p.meanAt1, 3);
      const nl = summary.noLimiter;
      const nlp = summary.noLimiterPassthrough;
      return {
        measured: umang ? "GET /v1/health/states (UMANG getStates)" : "GET /healthz (the UMANG route had not landed)",
        method: `${runs} interleaved runs per target: ${satS} s at 16 connections (throughput, p50/p99 under saturation) and ${latS} s at 1 connection (sequential requests over one kept-alive connection, timed in µs: latency without queueing); medians of the runs`,
        sanity,
        summary,
        ratios: {
          gatewayVsPassthroughThroughput: ratioVsPassthrough,
          gatewayVsSandboxThroughput: round(g.rps / s.rps, 2),
          passthroughVsSandboxThroughput: round(p.rps / s.rps, 2),
          gatewayAddedP50MsAt1Connection: addedP50,
          gatewayAddedMeanMsAt1Connection: addedMean,
          limitedPassthroughVsPassthroughThroughput: round(pl.rps / p.rps, 2),
          limitedPassthroughAddedP50MsAt1Connection: round(pl.p50At1 - p.p50At1, 3),
          gatewayVsLimitedPassthroughThroughput: round(g.rps / pl.rps, 2),
          gatewayAddedP50MsOverLimitedPassthrough: round(g.p50At1 - pl.p50At1, 3),
          ...(nl && nlp
            ? {
                withoutLimiterVsPassthroughThroughput: round(nl.rps / nlp.rps, 2),
                withoutLimiterAddedP50MsAt1Connection: round(nl.p50At1 - nlp.p50At1, 3),
              }
            : {}),
        },
        goals: [
          {
            goal: "gateway ≥ 0.8 × pass-through throughput",
            met: umang && ratioVsPassthrough >= 0.8,
            figure: `${ratioVsPassthrough}×` + (umang ? "" : " (on /healthz, not comparable)"),
          },
          {
            goal: "gateway adds ≤ 1 ms at p50",
            met: umang && addedP50 <= 1,
            figure: `${addedP50} ms p50, ${addedMean} ms mean (1 connection)` + (umang ? "" : " (on /healthz, not comparable)"),
          },
        ],
        logs: { gatewayErrors: stack.gateway.logs.counts.error, sampleErrors: stack.gateway.logs.errors.slice(0, 5) },
        runs: { saturation: sat, oneConnection: lat },
      };
    } finally {
      await limited?.dispose();
      await stack.stop();
    }
  },
  table(r) {
    const rows = [
      [
        "target",
        "req/s (16 conn)",
        "p50 / p99 ms (16 conn)",
        "p50 / p99 ms (1 conn)",
        "mean ms (1 conn)",
        "non-2xx",
        "busiest thread % at 16 conn: gateway / pass-through / limited pass-through / sandbox workerd",
      ],
    ];
    for (const [name, label] of [
      ["gateway", r.measured.startsWith("GET /v1") ? "gateway `GET /v1/health/states`" : "gateway `GET /healthz` (fallback)"],
      ["passthrough", "bare pass-through Worker"],
      ["passthroughLimited", "attribution: the bare pass-through asking a rate-limiting binding first (own workerd)"],
      ["sandbox", "sandbox directly (`POST …/getStates`)"],
      ["healthz", "diagnostic: gateway `GET /healthz` (no auth, no D1)"],
      ["authRead", "diagnostic: gateway `GET /v1/claims/{id}` → 404 (auth + D1 reads, no upstream)"],
      ["noLimiter", "attribution: gateway `GET /v1/health/states` without the rate-limiting binding (second stack)"],
      ["noLimiterPassthrough", "attribution: that stack's bare pass-through"],
    ]) {
      const s = r.summary[name];
      if (!s || (name === "healthz" && !r.measured.startsWith("GET /v1"))) continue;
      rows.push([
        label,
        s.rps,
        `${s.p50} / ${s.p99}`,
        `${s.p50At1} / ${s.p99At1}`,
        s.meanAt1,
        name === "authRead" ? `${s.errors} (404 expected)` : s.non2xx + s.errors,
        s.busiestThreadPercent ? ["gateway", "passthrough", "limited", "sandbox"].map((p) => s.busiestThreadPercent[p] ?? "–").join(" / ") : "–",
      ]);
    }
    const x = r.ratios;
    return {
      rows,
      notes: [
        `gateway ÷ pass-through throughput **${x.gatewayVsPassthroughThroughput}×**; gateway ÷ sandbox ${x.gatewayVsSandboxThroughput}×; pass-through ÷ sandbox ${x.passthroughVsSandboxThroughput}×`,
        `added latency at one connection (gateway − pass-through): p50 ${x.gatewayAddedP50MsAt1Connection} ms, mean ${x.gatewayAddedMeanMsAt1Connection} ms`,
        ...(x.limitedPassthroughVsPassthroughThroughput !== undefined
          ? [
              `the rate-limiting binding alone (pass-through asking it ÷ bare pass-through): **${x.limitedPassthroughVsPassthroughThroughput}×** the throughput, +${x.limitedPassthroughAddedP50MsAt1Connection} ms at p50; the gateway against that pass-through (both paying the local binding): ${x.gatewayVsLimitedPassthroughThroughput}×, +${x.gatewayAddedP50MsOverLimitedPassthrough} ms at p50`,
            ]
          : []),
        `throughput columns: autocannon, 16 connections (p50/p99 there include queueing); 1-connection columns: sequential requests timed in µs`,
        ...(x.withoutLimiterVsPassthroughThroughput !== undefined
          ? [
              `attribution (same code, no rate-limiting binding, against its own stack's pass-through): **${x.withoutLimiterVsPassthroughThroughput}×** the throughput, +${x.withoutLimiterAddedP50MsAt1Connection} ms at p50; the rest of the gap above is the local simulation of the binding (a Durable Object and SQLite call per request in miniflare; on Cloudflare the binding is answered from a cache beside the Worker)`,
            ]
          : []),
      ],
    };
  },
};
