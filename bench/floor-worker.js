// The floor scenario's Worker: the bare pass-through of bench/passthrough.js with the steps the
// contract asks of every gateway call added one by one (STEPS, a comma list), each done the way the
// gateway does it but with no framework around it. What those steps cost on this runtime, apart from
// how the gateway is written. Diagnostic only: it checks nothing it is given.
//   auth     SHA-256 of the X-API-Key header, then the isolate's cache of callers (a Map)
//   limit    the rate-limiting binding (LIMITER), as the gateway asks CLIENT_RATE_LIMITER per client call
//   timeout  an AbortController and a timer around the upstream call (UPSTREAM_TIMEOUT_MS)
//   parse    the UMANG envelope parsed and a JSON answer of its own built (the pass-through streams it)
//   log      two JSON log lines: the upstream call and the access line
//   txlog    the transaction log: one row per upstream call, batched per 50 ms into multi-row INSERTs
import { getStatesCall } from "./umang-call.js";

const enc = new TextEncoder();
const callers = new Map();
let trkr = 0;
let steps;
let rows = [];
let flushing = false;
let table;

async function flush(db) {
  const batch = rows;
  rows = [];
  flushing = false;
  const statements = [];
  for (let i = 0; i < batch.length; i += 7) {
    const part = batch.slice(i, i + 7);
    statements.push(
      db
        .prepare(`INSERT INTO calls (at, operation, status, duration_ms, request_id) VALUES ${part.map(() => "(?, ?, ?, ?, ?)").join(", ")}`)
        .bind(...part.flat()),
    );
  }
  if (statements.length) await db.batch(statements);
}

export default {
  async fetch(request, env, ctx) {
    // The same for every request of the isolate: parsed once, so no variant pays for it per request.
    steps ??= new Set(
      String(env.STEPS ?? "")
        .split(",")
        .filter(Boolean),
    );
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== "/v1/health/states") return new Response("not found", { status: 404 });
    const requestId = crypto.randomUUID();
    let caller = "bench";
    if (steps.has("auth")) {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(request.headers.get("X-API-Key") ?? "")));
      const hash = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
      if (!callers.has(hash)) callers.set(hash, { id: hash.slice(0, 16) });
      caller = callers.get(hash).id;
    }
    if (steps.has("limit") && !(await env.LIMITER.limit({ key: caller })).success) return new Response("rate limited", { status: 429 });
    const call = getStatesCall(env, ++trkr);
    const started = Date.now();
    const controller = steps.has("timeout") ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), 10_000) : null;
    let res;
    let status;
    try {
      const upstream = await fetch(call.url, { ...call.init, signal: controller?.signal });
      status = upstream.status;
      if (steps.has("parse")) {
        const body = JSON.parse(await upstream.text());
        res = Response.json(body.rs === "S" ? { states: body.pd } : { error: { code: "UPSTREAM_UNAVAILABLE" } }, {
          status: body.rs === "S" ? 200 : 502,
          headers: { "X-Request-Id": requestId },
        });
      } else {
        res = new Response(upstream.body, { status, headers: { "Content-Type": "application/json" } });
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
    const durationMs = Date.now() - started;
    if (steps.has("log")) {
      console.log(
        JSON.stringify({
          level: "info",
          msg: "umang call",
          time: new Date().toISOString(),
          requestId,
          portal: "umang",
          operation: "getStates",
          trkr: String(trkr),
          outcome: "ok",
          httpStatus: status,
          durationMs,
        }),
      );
      console.log(
        JSON.stringify({
          level: "info",
          msg: "request",
          time: new Date().toISOString(),
          requestId,
          method: "GET",
          route: "/v1/health/states",
          status: res.status,
          durationMs,
          clientId: caller,
        }),
      );
    }
    if (steps.has("txlog")) {
      table ??= env.DB.prepare(
        "CREATE TABLE IF NOT EXISTS calls (at INTEGER, operation TEXT, status INTEGER, duration_ms INTEGER, request_id TEXT)",
      ).run();
      await table;
      rows.push([started, "getStates", status, durationMs, requestId]);
      if (!flushing) {
        flushing = true;
        ctx.waitUntil(new Promise((r) => setTimeout(r, 50)).then(() => flush(env.DB)));
      }
    }
    return res;
  },
};
