// 7. Round trips: for each hot route, the sequential round trips one warm request makes to D1,
// Durable Objects, KV, Queues and the rate limiter before it answers (the gateway started with
// TRACE_ROUND_TRIPS=1, which makes every answer say so in X-Round-Trips: src/lib/round-trips.ts).
// Counts, not timings: they hold on any machine. Each route is called once to warm the isolate's
// caches (client directory, catalogue, tokens), then measured on the next calls (the median).
import { randomUUID } from "node:crypto";
import { createClient, log, median, startStack } from "../lib/harness.mjs";
import { claimBody, endedPeriod, json, loadCatalogue } from "../lib/api.mjs";

const KINDS = ["total", "d1", "do", "kv", "queue", "ratelimit", "calls"];
const parse = (h) =>
  Object.fromEntries(
    (h ?? "")
      .split(";")
      .filter(Boolean)
      .map((kv) => kv.split("="))
      .map(([k, v]) => [k, Number(v)]),
  );

export default {
  name: "roundtrips",
  title: "Round trips per request on the hot routes (sequential, before the answer)",
  async run({ bundles, quick }) {
    const stack = await startStack(bundles, { vars: { TRACE_ROUND_TRIPS: "1" } });
    try {
      await loadCatalogue(stack);
      const scopes = ["health", "health:bridge", "claims:write", "claims:read", "funds:write", "funds:read"];
      const client = await createClient(stack, scopes, "bench round trips", ["*"]);
      const gw = stack.topo.gatewayUrl;
      const headers = { "X-API-Key": client.apiKey, "Content-Type": "application/json" };
      const period = endedPeriod();
      let asha = 700_000;
      const tenantId = `rt.${randomUUID().slice(0, 8)}`;
      const account = { tenantId, headOfAccount: "2211-00-101-01-001", ssuCode: "SSU-001" };
      const allot = await json(`${gw}/v1/funds/allotments`, {
        method: "POST",
        headers,
        body: JSON.stringify({ txnId: randomUUID(), ...account, type: "INITIAL_ALLOTMENT", amount: 1_000_000 }),
      });
      let claimId = null;
      const routes = {
        "GET /v1/health/states": () => ({ url: `${gw}/v1/health/states` }),
        "GET /v1/health/patient (gateway session)": () => ({ url: `${gw}/v1/health/patient` }),
        "POST /v1/claims": () => {
          const body = claimBody(asha++, { period });
          claimId = body.claimId;
          return { url: `${gw}/v1/claims`, method: "POST", body: JSON.stringify(body) };
        },
        "POST /v1/claims/batch (500)": () => ({
          url: `${gw}/v1/claims/batch`,
          method: "POST",
          body: JSON.stringify({ claims: Array.from({ length: 500 }, () => claimBody(asha++, { period })) }),
        }),
        "GET /v1/claims/{id}": () => ({ url: `${gw}/v1/claims/${claimId}` }),
        "POST /v1/payment-instructions": () => ({
          url: `${gw}/v1/payment-instructions`,
          method: "POST",
          body: JSON.stringify({
            paymentId: randomUUID(),
            ...account,
            amount: 1,
            beneficiaries: [{ name: "ASHA Bench Beneficiary", accountCode: "ACC-0001", amount: 1 }],
          }),
        }),
      };
      const samples = quick ? 3 : 7;
      const rows = {};
      for (const [name, make] of Object.entries(routes)) {
        const seen = [];
        const statuses = [];
        for (let i = 0; i <= samples; i++) {
          const r = make();
          const res = await fetch(r.url, { method: r.method ?? "GET", headers, body: r.body });
          await res.arrayBuffer();
          statuses.push(res.status);
          if (i > 0) seen.push(parse(res.headers.get("x-round-trips"))); // the first call warms
        }
        rows[name] = { statuses: [...new Set(statuses)], ...Object.fromEntries(KINDS.map((k) => [k, median(seen.map((s) => s[k]))])) };
        log(`round trips ${name}: ${JSON.stringify(rows[name])}`);
      }
      const pass = rows["GET /v1/health/states"];
      const claim = rows["POST /v1/claims"];
      const pi = rows["POST /v1/payment-instructions"];
      return {
        allotment: allot.status,
        routes: rows,
        goals: [
          { goal: "0 D1 round trips for a warm pass-through call", met: pass.d1 === 0, figure: `d1=${pass.d1}` },
          {
            goal: "POST /v1/claims: 1 D1 batch + 1 queue send",
            met: claim.d1 === 1 && claim.queue === 1,
            figure: `d1=${claim.d1}, queue=${claim.queue}`,
          },
          {
            goal: "POST /v1/payment-instructions: one call to the account's object",
            met: pi.do === 1 && pi.d1 === 0,
            figure: `do=${pi.do}, d1=${pi.d1}`,
          },
        ],
      };
    } finally {
      await stack.stop();
    }
  },
  table(r) {
    return {
      rows: [["route", "status", ...KINDS], ...Object.entries(r.routes).map(([name, x]) => [name, x.statuses.join("/"), ...KINDS.map((k) => x[k])])],
      notes: [
        "sequential round trips before the answer (calls in flight together count once); `calls` counts every call; ratelimit is the per-client limiter binding",
        "work after the answer (the transaction log, written in batches by waitUntil) is not on the request's path and not counted",
      ],
    };
  },
};
