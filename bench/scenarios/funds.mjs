// 4. Funds contention: payment instructions/s against one head of account (one Durable Object
// serialises every deduction) and against 100 heads of account; and a race for too little money:
// zero overdrafts, every deduction counted once.
import { randomUUID } from "node:crypto";
import { createClient, hasRoute, load, log, median, round, sleep, startStack } from "../lib/harness.mjs";
import { d1, json } from "../lib/api.mjs";

const hoa = (i) => `2211-00-101-${String(i).padStart(2, "0")}-${String(i).padStart(3, "0")}`;

function piBody({ tenantId, headOfAccount, ssuCode, amount }) {
  return {
    paymentId: randomUUID(),
    tenantId,
    headOfAccount,
    ssuCode,
    amount,
    beneficiaries: [{ name: "ASHA Bench Beneficiary", accountCode: "ACC-0001", amount }],
  };
}

export default {
  name: "funds",
  title: "Funds contention: payment instructions against 1 and 100 heads of account",
  async run({ bundles, quick }) {
    const stack = await startStack(bundles);
    try {
      if (!(await hasRoute(stack, "post", "/v1/payment-instructions")) || !(await hasRoute(stack, "post", "/v1/funds/allotments"))) {
        return { skipped: "POST /v1/payment-instructions or /v1/funds/allotments is not served by the gateway yet (funds area still being built)" };
      }
      const client = await createClient(stack, ["funds:write", "funds:read"], "bench funds");
      const headers = { "X-API-Key": client.apiKey, "Content-Type": "application/json" };
      const allot = async (tenantId, headOfAccount, ssuCode, amount) => {
        const r = await json(`${stack.topo.gatewayUrl}/v1/funds/allotments`, {
          method: "POST",
          headers,
          body: JSON.stringify({ txnId: randomUUID(), tenantId, headOfAccount, ssuCode, type: "INITIAL_ALLOTMENT", amount }),
        });
        if (r.status !== 201) throw new Error(`allotment ${tenantId}/${headOfAccount} → ${r.status} ${JSON.stringify(r.body)}`);
      };
      const summary = async (tenantId) => (await json(`${stack.topo.gatewayUrl}/v1/funds/summary?tenantId=${encodeURIComponent(tenantId)}`, { headers })).body.items ?? [];
      const duration = quick ? 3 : 10;
      const runs = quick ? 1 : 3;
      const results = { one: [], hundred: [] };
      const overdrafts = [];

      const measure = async (label, tenantId, accounts) => {
        let i = 0;
        const created = { n: 0 };
        const other = {};
        const r = await load({
          url: `${stack.topo.gatewayUrl}/v1/payment-instructions`,
          method: "POST",
          connections: 16,
          duration,
          headers,
          requests: [
            {
              setupRequest: (req) => {
                req.body = JSON.stringify(piBody({ tenantId, headOfAccount: accounts[i++ % accounts.length], ssuCode: "SSU-001", amount: 1 }));
                return req;
              },
              onResponse: (status) => {
                if (status === 201) created.n++;
                else other[status] = (other[status] ?? 0) + 1;
              },
            },
          ],
        });
        // Requests in flight when autocannon stops still complete: reconcile against the ledger, not the answers.
        await sleep(1000);
        const items = await summary(tenantId);
        const committed = items.reduce((a, x) => a + x.committed, 0);
        const db = await d1(stack);
        const ledger = await db.prepare("SELECT count(*) AS n, coalesce(sum(amount), 0) AS paise FROM payment_instructions WHERE tenant_id = ? AND live = 1 AND status <> 'RESERVED'").bind(tenantId).first();
        const negative = items.filter((x) => x.available < 0);
        const off = items.filter((x) => x.available !== x.allotted - x.withdrawn - x.committed);
        if (negative.length || off.length || committed * 100 !== ledger.paise) {
          overdrafts.push({ label, created: created.n, ledgerPis: ledger.n, ledgerPaise: ledger.paise, committed, negative: negative.length, off: off.length });
        }
        const out = { piPerS: round(created.n / r.durationS, 1), p50: r.p50, p99: r.p99, created: created.n, ledgerPis: ledger.n, committedRupees: committed, otherStatuses: other, errors: r.errors };
        log(`funds ${label}: ${out.piPerS} PIs/s, p50 ${out.p50} ms, p99 ${out.p99} ms, ${JSON.stringify(other)}`);
        return out;
      };

      for (let run = 0; run < runs; run++) {
        const one = `as-bench-one-${run}`;
        await allot(one, hoa(0), "SSU-001", 10_000_000);
        results.one.push(await measure(`1 head of account, run ${run + 1}`, one, [hoa(0)]));
        await sleep(500);
        const many = `as-bench-many-${run}`;
        const accounts = Array.from({ length: 100 }, (_, k) => hoa(k));
        for (let k = 0; k < accounts.length; k += 10) await Promise.all(accounts.slice(k, k + 10).map((a) => allot(many, a, "SSU-001", 10_000_000)));
        results.hundred.push(await measure(`100 heads of account, run ${run + 1}`, many, accounts));
        await sleep(500);
      }

      // The race: 1,000 instructions of ₹1 at 32 connections for an account holding ₹500.
      const race = `as-bench-race`;
      await allot(race, hoa(0), "SSU-001", 500);
      const raceStatus = {};
      let raceN = 0;
      await load({
        url: `${stack.topo.gatewayUrl}/v1/payment-instructions`,
        method: "POST",
        connections: 32,
        amount: 1000,
        headers,
        requests: [
          {
            setupRequest: (req) => {
              raceN++;
              req.body = JSON.stringify(piBody({ tenantId: race, headOfAccount: hoa(0), ssuCode: "SSU-001", amount: 1 }));
              return req;
            },
            onResponse: (status) => (raceStatus[status] = (raceStatus[status] ?? 0) + 1),
          },
        ],
      });
      const raceItems = await summary(race);
      const raceAccount = raceItems[0] ?? {};
      const raceOk = raceStatus[201] === 500 && raceStatus[422] === 500 && raceAccount.available === 0 && raceAccount.committed === 500;
      log(`funds race: ${JSON.stringify(raceStatus)}, account ${JSON.stringify(raceAccount)}`);

      const med = (xs, k) => median(xs.map((x) => x[k]));
      const s = {
        one: { piPerS: med(results.one, "piPerS"), p50: med(results.one, "p50"), p99: med(results.one, "p99") },
        hundred: { piPerS: med(results.hundred, "piPerS"), p50: med(results.hundred, "p50"), p99: med(results.hundred, "p99") },
      };
      return {
        method: `${runs} runs × ${duration} s at 16 connections per case, ₹1 instructions with one beneficiary, a new paymentId each; accounts allotted ₹1,00,00,000 each; then a race of 1,000 ₹1 instructions at 32 connections for an account holding ₹500`,
        summary: s,
        ratioHundredVsOne: round(s.hundred.piPerS / s.one.piPerS, 2),
        race: { requests: raceN, statuses: raceStatus, account: raceAccount, exact: raceOk },
        overdrafts,
        goals: [
          { goal: "zero overdrafts", met: overdrafts.length === 0 && raceOk, figure: `${overdrafts.length} cases where available < 0 or committed ≠ the PI ledger; race: ${raceStatus[201] ?? 0} paid, ${raceStatus[422] ?? 0} refused, available ₹${raceAccount.available}` },
        ],
        logs: { gatewayErrors: stack.gateway.logs.counts.error, sampleErrors: stack.gateway.logs.errors.slice(0, 5) },
        runs: results,
      };
    } finally {
      await stack.stop();
    }
  },
  table(r) {
    const s = r.summary;
    return {
      rows: [
        ["case", "payment instructions/s (16 conn)", "p50 / p99 ms", "overdrafts"],
        ["1 head of account (one Durable Object)", s.one.piPerS, `${s.one.p50} / ${s.one.p99}`, r.overdrafts.filter((o) => o.label.startsWith("1 ")).length],
        ["100 heads of account", s.hundred.piPerS, `${s.hundred.p50} / ${s.hundred.p99}`, r.overdrafts.filter((o) => o.label.startsWith("100 ")).length],
        ["race: 1,000 × ₹1 against ₹500", `${r.race.statuses[201] ?? 0} paid, ${r.race.statuses[422] ?? 0} refused (422)`, "–", `available ₹${r.race.account.available}, committed ₹${r.race.account.committed}`],
      ],
      notes: [r.method, `100 heads ÷ 1 head throughput: ${r.ratioHundredVsOne}×`],
    };
  },
};
