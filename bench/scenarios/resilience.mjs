// 5. Resilience: claims (and, when served, payment instructions → iFIX disburse messages) under 20%
// injected upstream failures, a 429 storm and latency spikes beyond the upstream timeout, with the
// gateway killed and restarted mid-run on the same persisted D1/DO state. The counts at the sandbox
// must equal the ledger: no loss, no duplicates.
import { randomUUID } from "node:crypto";
import { createClient, fireCron, hasRoute, log, round, sleep, startStack } from "../lib/harness.mjs";
import { assamConfig, assamCounts, assamStats, claimBody, clearFaults, d1, endedPeriod, faultStats, json, loadCatalogue, setFaults, waitFor } from "../lib/api.mjs";

const SWEEP_CRON = "*/15 * * * *";
const VARS = { ASSAM_MAX_RPS: "200", DELIVERY_BACKOFF_BASE_MS: "200", UPSTREAM_TIMEOUT_MS: "1000", DELIVERY_MAX_ATTEMPTS: "12" };

/** Runs `fn` over `items` with `concurrency` in flight. */
async function pool(items, concurrency, fn) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (queue.length) await fn(queue.shift());
    }),
  );
}

export default {
  name: "resilience",
  title: "Resilience: faults upstream and a killed gateway mid-run",
  async run({ bundles, quick }) {
    const perPhase = quick ? 100 : 500;
    const stack = await startStack(bundles, { vars: VARS });
    try {
      if (!(await hasRoute(stack, "post", "/v1/claims"))) return { skipped: "POST /v1/claims is not served by the gateway yet (claims area still being built)" };
      const client = await createClient(stack, ["claims:write", "claims:read", "funds:write", "funds:read", "fiscal:write", "fiscal:read"], "bench resilience");
      await loadCatalogue(stack);
      await assamConfig(stack, { pendingPolls: 0 });
      const period = endedPeriod();
      const headers = () => ({ "X-API-Key": client.apiKey, "Content-Type": "application/json" });

      const acknowledged = new Map(); // claimId → first acknowledged status
      const unanswered = new Map(); // claimId → body: to be resent with the same claimId (idempotent)
      const answers = {};
      let next = 0;
      const submit = async (body) => {
        try {
          const r = await json(`${stack.topo.gatewayUrl}/v1/claims`, { method: "POST", headers: { ...headers(), "Idempotency-Key": body.claimId }, body: JSON.stringify(body) });
          answers[r.status] = (answers[r.status] ?? 0) + 1;
          if (r.status === 202 || r.status === 200) {
            acknowledged.set(body.claimId, r.status);
            unanswered.delete(body.claimId);
          } else if (r.status >= 500 || r.status === 429) unanswered.set(body.claimId, body);
          else throw new Error(`claim refused: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        } catch (err) {
          if (String(err.message).startsWith("claim refused")) throw err;
          answers.network = (answers.network ?? 0) + 1;
          unanswered.set(body.claimId, body);
        }
      };
      const phase = async (label, faults, { crashAfter } = {}) => {
        await setFaults(stack, "assam", { ...faults, seed: 7 });
        const bodies = Array.from({ length: perPhase }, () => claimBody(next++, { period, claimId: randomUUID() }));
        const t0 = Date.now();
        let crashed = null;
        let sent = 0;
        await pool(bodies, 4, async (b) => {
          sent++;
          if (crashAfter && sent === crashAfter && !crashed) {
            crashed = (async () => {
              log(`resilience: killing the gateway (${label}, after ${sent} claims of the phase)`);
              const k0 = Date.now();
              await stack.restartGateway();
              log(`resilience: gateway restarted in ${Date.now() - k0} ms on the same persisted state`);
              return Date.now() - k0;
            })();
          }
          await submit(b);
        });
        const restartMs = crashed ? await crashed : null;
        log(`resilience phase ${label}: ${perPhase} claims submitted in ${Date.now() - t0} ms; ${JSON.stringify(answers)}`);
        return { label, faults, restartMs };
      };

      const phases = [];
      phases.push(await phase("20% upstream errors (500/502/503)", { errorRate: 0.2 }));
      phases.push(await phase("429 storm (50% of calls, Retry-After 1 s)", { rate429: 0.5, retryAfterSeconds: 1 }));
      phases.push(await phase("latency spikes (20% of calls 1.5 s, over the 1 s upstream timeout) + gateway killed mid-phase", { slowRate: 0.2, slowMs: 1500 }, { crashAfter: Math.floor(perPhase / 2) }));
      const injected = await faultStats(stack);
      // Caller behaviour after a crash: resend what got no answer, with the same claimId.
      for (let round2 = 0; unanswered.size && round2 < 5; round2++) {
        const again = [...unanswered.values()];
        log(`resilience: resending ${again.length} unanswered claims with the same claimId`);
        await pool(again, 4, submit);
      }
      await clearFaults(stack);

      // Recovery: the quarter-hourly sweep re-queues claims whose lease expired in the crash.
      const ids = [...acknowledged.keys()];
      let sweeps = 0;
      const settled = await waitFor(
        async () => {
          const db = await d1(stack);
          const rows = (await db.prepare("SELECT status, count(*) AS n FROM claims GROUP BY status").all()).results;
          const byStatus = Object.fromEntries(rows.map((x) => [x.status, x.n]));
          const done = (byStatus.ACCEPTED ?? 0) + (byStatus.FAILED ?? 0) + (byStatus.REJECTED ?? 0) >= ids.length && !byStatus.QUEUED && !byStatus.PENDING;
          if (!done) {
            sweeps++;
            await fireCron(stack.gateway, SWEEP_CRON).catch(() => {});
          }
          return { done, progress: byStatus };
        },
        { timeoutMs: quick ? 240_000 : 420_000, everyMs: 5000, label: "resilience recovering" },
      );
      const counts = await assamCounts(stack, ids);
      const st = await assamStats(stack);
      const c = Object.values(counts);
      const atSandbox = c.filter((x) => x.creates === 1).length;
      const duplicateCreates = c.filter((x) => x.creates > 1).length;
      const conflicts = c.reduce((a, x) => a + x.conflicts, 0);
      const lost = c.filter((x) => x.creates === 0).length;
      const extraAtSandbox = st.submissions - atSandbox; // submissions the ledger does not know
      const ledger = settled.progress;
      const noLoss = lost === 0 && (ledger.ACCEPTED ?? 0) === ids.length && settled.timedOut === false;
      const noDup = duplicateCreates === 0 && conflicts === 0 && extraAtSandbox === 0;

      // Fiscal flow: payment instructions under iFIX faults, with the same checks, when the routes are served.
      let fiscal = { skipped: "POST /v1/payment-instructions not served yet" };
      if (await hasRoute(stack, "post", "/v1/payment-instructions")) fiscal = await this.fiscal(stack, headers, quick);

      return {
        method:
          `${perPhase} claims per phase at 4 concurrent callers, each fault set on the Assam sandbox for its phase (seeded); the gateway's workerd disposed and restarted mid-way through the last phase on the same persisted state; ` +
          `unanswered claims resent with the same claimId; then the */15 sweep fired every 5 s until the ledger settled. Vars for the run: ${JSON.stringify(VARS)}`,
        phases,
        callerAnswers: answers,
        injected,
        claims: {
          acknowledged: ids.length,
          ledger,
          atSandbox,
          lost,
          duplicateCreates,
          conflicts,
          extraAtSandbox,
          resends: st.posts - st.creates,
          sandboxPosts: st.posts,
          settleS: round(settled.ms / 1000, 1),
          sweeps,
          settledTimedOut: settled.timedOut,
        },
        fiscal,
        goals: [
          { goal: "claims: no loss (ledger ACCEPTED = acknowledged = created at sandbox)", met: noLoss, figure: `${ids.length} acknowledged, ${ledger.ACCEPTED ?? 0} ACCEPTED in the ledger, ${atSandbox} at the sandbox, ${lost} lost` },
          { goal: "claims: no duplicates", met: noDup, figure: `${duplicateCreates} duplicate creates, ${conflicts} conflicts, ${extraAtSandbox} unknown at sandbox (${st.posts - st.creates} idempotent resends)` },
          ...(fiscal.goals ?? []),
        ],
        logs: { gatewayErrors: stack.gateway.logs.counts.error, sampleErrors: stack.gateway.logs.errors.slice(0, 5) },
      };
    } finally {
      await stack.stop();
    }
  },
  /** Payment instructions (→ signed iFIX disburse messages) under iFIX faults; counted at the iFIX sandbox. */
  async fiscal(stack, headers, quick) {
    const n = quick ? 50 : 200;
    const tenantId = "as-bench-resilience";
    const hoa = "2211-00-101-01-001";
    const allot = await json(`${stack.topo.gatewayUrl}/v1/funds/allotments`, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({ txnId: randomUUID(), tenantId, headOfAccount: hoa, ssuCode: "SSU-001", type: "INITIAL_ALLOTMENT", amount: 1_000_000 }),
    });
    if (allot.status !== 201) return { skipped: `allotment refused: ${allot.status}` };
    await setFaults(stack, "ifix", { errorRate: 0.2, rate429: 0.1, slowRate: 0.1, slowMs: 1500, seed: 11 });
    const pis = [];
    const answers = {};
    await pool(Array.from({ length: n }, (_, i) => i), 4, async () => {
      const body = { paymentId: randomUUID(), tenantId, headOfAccount: hoa, ssuCode: "SSU-001", amount: 10, beneficiaries: [{ name: "ASHA Bench", accountCode: "ACC-0001", amount: 10 }] };
      const r = await json(`${stack.topo.gatewayUrl}/v1/payment-instructions`, { method: "POST", headers: headers(), body: JSON.stringify(body) });
      answers[r.status] = (answers[r.status] ?? 0) + 1;
      if (r.status === 201) pis.push(r.body.piId);
    });
    await clearFaults(stack);
    const inspect = await json(`${stack.topo.sandboxUrl}/ifix/__sandbox/stats`);
    const summary = (await json(`${stack.topo.gatewayUrl}/v1/funds/summary?tenantId=${tenantId}`, { headers: headers() })).body.items?.[0];
    const db = await d1(stack);
    let outbox = null;
    try {
      outbox = (await db.prepare("SELECT status, count(*) AS n FROM fiscal_messages GROUP BY status").all()).results;
    } catch {
      /* table named differently */
    }
    const committedOk = summary && summary.committed === pis.length * 10 && summary.available === 1_000_000 - pis.length * 10;
    return {
      created: pis.length,
      answers,
      funds: summary,
      iFixSandbox: inspect.status === 200 ? inspect.body : `no inspection route (${inspect.status})`,
      messagesByStatus: outbox,
      goals: [{ goal: "funds: every PI deducted once under iFIX faults", met: Boolean(committedOk), figure: `${pis.length} PIs of ₹10, committed ₹${summary?.committed}, available ₹${summary?.available}` }],
    };
  },
  table(r) {
    const c = r.claims;
    const rows = [
      ["flow", "acknowledged", "ledger", "at sandbox (created once)", "lost", "duplicates", "idempotent resends", "settled after faults cleared"],
      [
        "claims (Assam)",
        c.acknowledged,
        Object.entries(c.ledger).map(([k, v]) => `${k} ${v}`).join(", "),
        c.atSandbox,
        c.lost,
        c.duplicateCreates + c.conflicts + c.extraAtSandbox,
        c.resends,
        `${c.settleS} s (${c.sweeps} sweeps)${c.settledTimedOut ? " timed out" : ""}`,
      ],
    ];
    if (r.fiscal && !r.fiscal.skipped) {
      rows.push(["payment instructions (iFIX)", r.fiscal.created, `committed ₹${r.fiscal.funds?.committed}`, typeof r.fiscal.iFixSandbox === "object" ? JSON.stringify(r.fiscal.iFixSandbox).slice(0, 80) : "–", "–", "–", "–", "–"]);
    }
    const inj = r.injected?.assam?.injected;
    return {
      rows,
      notes: [
        r.method,
        inj ? `faults injected at the Assam sandbox: ${inj.error} errors, ${inj.rate429} × 429, ${inj.slow} slow answers, ${inj.drop} dropped` : "",
        `caller saw: ${JSON.stringify(r.callerAnswers)}`,
        r.fiscal?.skipped ? `fiscal flow: not measured (${r.fiscal.skipped})` : "",
      ].filter(Boolean),
    };
  },
};
