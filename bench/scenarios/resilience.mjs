// 5. Resilience: the claims flow (Assam) and the fiscal flows (payment instructions → signed disburse
// messages, programme messages → iFIX) under injected upstream faults (20% errors, a 429 storm,
// latency spikes beyond the upstream timeout), with the gateway's workerd killed and restarted
// mid-run on the same persisted D1/DO state. Afterwards the counts at the sandbox must equal the
// gateway's ledger: nothing lost, nothing twice. Recovery waits in real time (no clock tricks): the
// sweeps re-send what the crash interrupted once its lease (5 minutes in this gateway) has expired.
import { randomUUID } from "node:crypto";
import { createClient, fireCron, hasRoute, log, round, sleep, startStack } from "../lib/harness.mjs";
import { assamConfig, assamCounts, assamStats, claimBody, clearFaults, d1, endedPeriod, faultStats, json, setFaults, waitFor } from "../lib/api.mjs";

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

const tally = (o, k) => (o[k] = (o[k] ?? 0) + 1);

export default {
  name: "resilience",
  title: "Resilience: upstream faults and a killed gateway mid-run",
  notInQuick: "what the crash interrupts waits for its 5-minute lease before a sweep re-sends it",
  async run({ bundles, quick }) {
    const perPhase = quick ? 60 : 300;
    const fiscalN = quick ? 30 : 120;
    const stack = await startStack(bundles, { vars: VARS });
    try {
      const client = await createClient(
        stack,
        ["claims:write", "claims:read", "funds:write", "funds:read", "fiscal:write", "fiscal:read"],
        "bench resilience",
      );
      const headers = { "X-API-Key": client.apiKey, "Content-Type": "application/json" };
      const claimsServed = await hasRoute(stack, "post", "/v1/claims");
      const fiscalServed = (await hasRoute(stack, "post", "/v1/payment-instructions")) && (await hasRoute(stack, "post", "/v1/fiscal/programs"));
      // A caller whose connection fails (the gateway is down) retries the same request for up to 30 s.
      let networkRetries = 0;
      const post = async (path, body, extra = {}) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await json(`${stack.topo.gatewayUrl}${path}`, { method: "POST", headers: { ...headers, ...extra }, body: JSON.stringify(body) });
          } catch {
            if (attempt >= 120) return { status: "network" };
            networkRetries++;
            await sleep(250);
          }
        }
      };

      // ---- the claims flow
      const claims = { acknowledged: new Set(), unanswered: new Map(), answers: {} };
      const submitClaim = async (body) => {
        const r = await post("/v1/claims", body, { "Idempotency-Key": body.claimId });
        tally(claims.answers, r.status);
        if (r.status === 202 || r.status === 200) {
          claims.acknowledged.add(body.claimId);
          claims.unanswered.delete(body.claimId);
        } else if (r.status === "network" || r.status >= 500 || r.status === 429) claims.unanswered.set(body.claimId, body);
      };
      // ---- the fiscal flows
      const tenantId = "as-bench-resilience";
      const hoa = "2211-00-101-01-001";
      const fiscal = { pis: new Set(), programs: new Set(), unanswered: [], answers: {} };
      const submitFiscal = async (item) => {
        // Programmes carry an Idempotency-Key, so that a resend of one whose answer was lost makes nothing twice.
        const r = await post(item.path, item.body, item.key ? { "Idempotency-Key": item.key } : {});
        tally(fiscal.answers, `${item.kind} ${r.status}`);
        if (item.kind === "pi" && (r.status === 201 || r.status === 409)) fiscal.pis.add(item.body.paymentId);
        else if (item.kind === "program" && (r.status === 202 || r.status === 200)) fiscal.programs.add(r.body.messageId);
        else if (r.status === "network" || r.status >= 500 || r.status === 429) fiscal.unanswered.push(item);
      };
      const fiscalItems = [];
      for (let i = 0; i < fiscalN; i++) {
        fiscalItems.push({
          kind: "pi",
          path: "/v1/payment-instructions",
          body: {
            paymentId: randomUUID(),
            tenantId,
            headOfAccount: hoa,
            ssuCode: "SSU-001",
            amount: 10,
            beneficiaries: [{ name: "ASHA Bench", accountCode: "ACC-0001", amount: 10 }],
          },
        });
        fiscalItems.push({
          kind: "program",
          path: "/v1/fiscal/programs",
          key: randomUUID(),
          body: {
            name: `Bench programme ${i}`,
            locationCode: "as.kamrup",
            programCode: `PORG/2026-27/${String(i).padStart(5, "0")}`,
            transactionId: `BENCH/${randomUUID()}`,
          },
        });
      }
      if (fiscalServed) {
        const a = await post("/v1/funds/allotments", {
          txnId: randomUUID(),
          tenantId,
          headOfAccount: hoa,
          ssuCode: "SSU-001",
          type: "INITIAL_ALLOTMENT",
          amount: 1_000_000,
        });
        if (a.status !== 201) throw new Error(`allotment refused: ${a.status}`);
      }
      if (claimsServed) await assamConfig(stack, { immediateDecision: true, pendingPolls: 0 });
      if (!claimsServed && !fiscalServed) return { skipped: "neither POST /v1/claims nor the fiscal routes are served yet" };

      // ---- the run: three fault phases on Assam; the fiscal flow under iFIX faults alongside; one crash.
      const period = endedPeriod();
      let next = 0;
      const phases = [
        { label: "20% upstream errors (500/502/503)", faults: { errorRate: 0.2 } },
        { label: "429 storm (50% of calls, Retry-After 1 s)", faults: { rate429: 0.5, retryAfterSeconds: 1 } },
        { label: "latency spikes (20% of calls take 1.5 s, over the 1 s upstream timeout)", faults: { slowRate: 0.2, slowMs: 1500 } },
      ];
      if (fiscalServed) await setFaults(stack, "ifix", { errorRate: 0.2, rate429: 0.1, retryAfterSeconds: 1, slowRate: 0.1, slowMs: 1500, seed: 11 });
      let crash = null;
      const crashAt = Math.floor(((claimsServed ? perPhase * 3 : 0) + (fiscalServed ? fiscalItems.length : 0)) / 2);
      let sent = 0;
      const maybeCrash = () => {
        if (++sent === crashAt && !crash) {
          crash = (async () => {
            log(`resilience: killing the gateway after ${sent} requests`);
            const k0 = Date.now();
            await stack.restartGateway();
            const ms = Date.now() - k0;
            log(`resilience: gateway back in ${ms} ms on the same persisted state`);
            return ms;
          })();
        }
      };
      const t0 = Date.now();
      const claimsRun = (async () => {
        if (!claimsServed) return;
        for (const p of phases) {
          await setFaults(stack, "assam", { ...p.faults, seed: 7 });
          const bodies = Array.from({ length: perPhase }, () => claimBody(next++, { period, claimId: randomUUID() }));
          await pool(bodies, 3, async (b) => {
            maybeCrash();
            await submitClaim(b);
          });
          log(`resilience claims phase "${p.label}" done: ${JSON.stringify(claims.answers)}`);
        }
      })();
      const fiscalRun = (async () => {
        if (!fiscalServed) return;
        await pool(fiscalItems, 2, async (item) => {
          maybeCrash();
          await submitFiscal(item);
        });
        log(`resilience fiscal submissions done: ${JSON.stringify(fiscal.answers)}`);
      })();
      await Promise.all([claimsRun, fiscalRun]);
      const restartMs = crash ? await crash : null;
      const submitS = round((Date.now() - t0) / 1000, 1);
      const injected = await faultStats(stack);
      // Callers resend what got no answer, with the same claimId / paymentId (programmes: the same
      // transactionId; they carry no idempotency key, so a resend of one that was recorded is a second message).
      for (let k = 0; (claims.unanswered.size || fiscal.unanswered.length) && k < 5; k++) {
        log(`resilience: resending ${claims.unanswered.size} claims and ${fiscal.unanswered.length} fiscal requests that got no answer`);
        await pool([...claims.unanswered.values()], 3, submitClaim);
        await pool(fiscal.unanswered.splice(0), 2, submitFiscal);
      }
      await clearFaults(stack);
      log(`resilience: faults cleared after ${submitS} s; waiting for the ledger to settle (the sweep fired every 10 s)`);

      // ---- recovery, in real time
      let sweeps = 0;
      const check = async () => {
        const db = await d1(stack);
        const out = { claims: null, fiscal: null };
        if (claimsServed) {
          const rows = (await db.prepare("SELECT status, count(*) AS n FROM claims GROUP BY status").all()).results;
          out.claims = Object.fromEntries(rows.map((x) => [x.status, x.n]));
        }
        if (fiscalServed) {
          const rows = (await db.prepare("SELECT delivery_status AS s, count(*) AS n FROM fiscal_messages GROUP BY delivery_status").all()).results;
          out.fiscal = Object.fromEntries(rows.map((x) => [x.s, x.n]));
        }
        return out;
      };
      const settled = await waitFor(
        async () => {
          const p = await check();
          const claimsDone = !claimsServed || (!p.claims.QUEUED && !p.claims.PENDING && !p.claims.SCHEDULED);
          const ledgerIds = fiscalServed ? (await (await d1(stack)).prepare("SELECT id FROM fiscal_messages").all()).results.map((r) => r.id) : [];
          let fiscalDone = true;
          if (fiscalServed) {
            const at = new Set(((await json(`${stack.topo.sandboxUrl}/ifix/__sandbox/messages`)).body.messages ?? []).map((m) => m.messageId));
            fiscalDone = ledgerIds.every((id) => at.has(id));
          }
          const done = claimsDone && fiscalDone;
          if (!done) {
            sweeps++;
            await fireCron(stack.gateway, SWEEP_CRON).catch((e) => log(`sweep failed: ${e.message}`));
          }
          return { done, progress: p };
        },
        { timeoutMs: quick ? 420_000 : 480_000, everyMs: 10_000, label: "resilience settling" },
      );
      await sleep(2000);

      // ---- the reckoning: sandbox vs ledger
      const out = {
        method: "",
        phases,
        restartMs,
        networkRetries,
        submitS,
        settleS: round(settled.ms / 1000, 1),
        settledTimedOut: settled.timedOut,
        sweeps,
        injected,
        goals: [],
      };
      const db = await d1(stack);
      if (claimsServed) {
        const ledgerRows = (await db.prepare("SELECT id, status FROM claims").all()).results;
        const ids = ledgerRows.map((r) => r.id);
        const byStatus = {};
        for (const r of ledgerRows) tally(byStatus, r.status);
        const counts = await assamCounts(stack, ids);
        const st = await assamStats(stack);
        const c = Object.values(counts);
        const createdOnce = c.filter((x) => x.creates === 1).length;
        const duplicates =
          c.filter((x) => x.creates > 1).length +
          c.reduce((a, x) => a + x.conflicts, 0) +
          (st.submissions - createdOnce - c.filter((x) => x.creates > 1).length);
        const missing = ids.filter((id) => !counts[id]?.creates).length;
        const unacknowledgedInLedger = ids.filter((id) => !claims.acknowledged.has(id)).length;
        const lostAcknowledged = [...claims.acknowledged].filter((id) => !counts[id]?.creates).length;
        out.claims = {
          callerAnswers: claims.answers,
          acknowledged: claims.acknowledged.size,
          ledger: byStatus,
          ledgerRows: ids.length,
          unacknowledgedInLedger,
          atSandbox: st.submissions,
          createdOnce,
          missing,
          lostAcknowledged,
          duplicates,
          resends: st.posts - st.creates,
        };
        out.goals.push(
          {
            goal: "claims: no loss (every ledger claim and every acknowledged claim at the sandbox, ACCEPTED)",
            met: missing === 0 && lostAcknowledged === 0 && (byStatus.ACCEPTED ?? 0) === ids.length,
            figure: `${ids.length} in the ledger (${claims.acknowledged.size} acknowledged), ${st.submissions} at the sandbox, ${missing} missing, ${byStatus.ACCEPTED ?? 0} ACCEPTED`,
          },
          {
            goal: "claims: no duplicates",
            met: duplicates === 0,
            figure: `${duplicates} duplicated or conflicting at the sandbox; ${st.posts - st.creates} idempotent resends`,
          },
        );
      }
      if (fiscalServed) {
        const ledger = (await db.prepare("SELECT id, type, transaction_id AS txn, delivery_status AS ds FROM fiscal_messages").all()).results;
        const at = (await json(`${stack.topo.sandboxUrl}/ifix/__sandbox/messages`)).body.messages ?? [];
        const atIds = new Map(at.map((m) => [m.messageId, m]));
        const ledgerIds = new Set(ledger.map((m) => m.id));
        const missing = ledger.filter((m) => !atIds.has(m.id)).length;
        const extra = at.filter((m) => !ledgerIds.has(m.messageId)).length;
        const disburse = ledger.filter((m) => m.type === "disburse");
        const disburseTxn = new Set(disburse.map((m) => m.txn));
        const piRows = (
          await db.prepare("SELECT pi_id, payment_id, amount, status FROM payment_instructions WHERE tenant_id = ? AND live = 1").bind(tenantId).all()
        ).results;
        const piWithoutMessage = piRows.filter((p) => !disburseTxn.has(p.pi_id)).length;
        const duplicateDisburse = disburse.length - disburseTxn.size;
        const programTxns = ledger.filter((m) => m.type === "program").map((m) => m.txn);
        const callerDuplicatePrograms = programTxns.length - new Set(programTxns).size;
        const summary = (await json(`${stack.topo.gatewayUrl}/v1/funds/summary?tenantId=${tenantId}`, { headers })).body.items?.[0];
        const lostPis = [...fiscal.pis].filter((pid) => !piRows.some((p) => p.payment_id === pid)).length;
        const committedOk =
          summary && summary.committed * 100 === piRows.reduce((a, p) => a + p.amount, 0) && summary.available === 1_000_000 - summary.committed;
        out.fiscal = {
          callerAnswers: fiscal.answers,
          acknowledged: { paymentInstructions: fiscal.pis.size, programs: fiscal.programs.size },
          ledgerMessages: ledger.length,
          ledgerByDelivery: Object.fromEntries(Object.entries(ledger.reduce((a, m) => (tally(a, m.ds), a), {}))),
          atSandbox: at.length,
          missing,
          extra,
          idempotentResends: at.reduce((a, m) => a + (m.posts - 1), 0),
          paymentInstructions: piRows.length,
          lostPis,
          piWithoutMessage,
          duplicateDisburse,
          callerDuplicatePrograms,
          funds: summary,
        };
        out.goals.push(
          {
            goal: "fiscal: every ledger message at iFIX exactly once",
            met: missing === 0 && extra === 0 && duplicateDisburse === 0 && piWithoutMessage === 0,
            figure: `${ledger.length} in the ledger, ${at.length} at the sandbox, ${missing} missing, ${extra} unknown, ${duplicateDisburse} duplicate disburse messages`,
          },
          {
            goal: "fiscal: each programme recorded once, whatever the resends (Idempotency-Key)",
            met: callerDuplicatePrograms === 0,
            figure: `${programTxns.length} programme messages for ${new Set(programTxns).size} programmes sent; ${callerDuplicatePrograms} recorded twice`,
          },
          {
            goal: "funds: every PI deducted once, none lost",
            met: Boolean(committedOk) && lostPis === 0,
            figure: `${piRows.length} PIs of ₹10 (${fiscal.pis.size} acknowledged), committed ₹${summary?.committed}, available ₹${summary?.available}`,
          },
        );
      }
      out.method =
        `Vars: ${JSON.stringify(VARS)}. Claims: ${perPhase} per fault phase at 3 concurrent callers (Assam sandbox faults seeded, one set per phase). ` +
        `Fiscal: ${fiscalN} payment instructions of ₹10 and ${fiscalN} programme messages at 2 concurrent callers alongside, iFIX sandbox faults 20% errors, 10% 429, 10% 1.5 s answers. ` +
        `The gateway's workerd was disposed and restarted (${restartMs} ms) after ${crashAt} requests, on the same persisted D1/DO state; callers retried refused connections every 250 ms (${networkRetries} retries) and resent what got no answer with the same ids (programmes with the same Idempotency-Key); ` +
        `then the */15 sweep was fired every 10 s in real time until the ledger settled.`;
      out.logs = { gatewayErrors: stack.gateway.logs.counts.error, sampleErrors: stack.gateway.logs.errors.slice(0, 5) };
      return out;
    } finally {
      await stack.stop();
    }
  },
  table(r) {
    const rows = [["flow", "acknowledged to callers", "in the ledger", "at the sandbox", "missing", "duplicates", "idempotent resends"]];
    const c = r.claims;
    if (c) {
      rows.push([
        "claims → Assam",
        c.acknowledged,
        `${c.ledgerRows} (${Object.entries(c.ledger)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")})`,
        c.atSandbox,
        c.missing,
        c.duplicates,
        c.resends,
      ]);
    }
    const f = r.fiscal;
    if (f) {
      rows.push([
        "PIs + programmes → iFIX",
        `${f.acknowledged.paymentInstructions} PIs + ${f.acknowledged.programs} programmes`,
        `${f.ledgerMessages} messages (${Object.entries(f.ledgerByDelivery)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}); ${f.paymentInstructions} PIs, ₹${f.funds?.committed} committed`,
        f.atSandbox,
        f.missing,
        f.duplicateDisburse + f.extra,
        f.idempotentResends,
      ]);
    }
    const inj = r.injected ?? {};
    const fmt = (x) => (x ? `${x.injected.error} errors, ${x.injected.rate429} × 429, ${x.injected.slow} slow` : "–");
    return {
      rows,
      notes: [
        r.method,
        `faults injected: Assam ${fmt(inj.assam)}; iFIX ${fmt(inj.ifix)}`,
        `settled ${r.settleS} s after the faults were cleared (${r.sweeps} sweeps)${r.settledTimedOut ? " — **timed out**" : ""}; what the crash interrupted waits for its 5-minute lease before a sweep re-sends it`,
        c ? `claims: callers saw ${JSON.stringify(c.callerAnswers)}` : "claims flow not measured",
        f
          ? `fiscal: callers saw ${JSON.stringify(f.callerAnswers)}${f.callerDuplicatePrograms ? `; ${f.callerDuplicatePrograms} programme(s) recorded twice: a resend whose answer the crash swallowed made a second message` : ""}`
          : "fiscal flow not measured",
      ],
    };
  },
};
