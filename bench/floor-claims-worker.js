// The floor scenario's claims Worker: the least a claim's intake and delivery can do on this runtime,
// as the gateway's shape asks (CONTRACT: one D1 batch and one queue send per claim; the issue: a
// consumer batch leased with one statement, posted in parallel, its outcomes in one batch). No
// validation, no catalogue, no pacing, no retries, no transaction log: a lower bound, not a gateway.
// STEPS: "limit" asks the rate-limiting binding (LIMITER) first, as the gateway does per client call.
//   POST /v1/claims  the API body; hash of X-API-Key; one D1 batch (INSERT … ON CONFLICT DO NOTHING on
//                    the month's unique index); one queue send; 202 { claimId, status }
//   queue            UPDATE … RETURNING to lease the batch; each wire body POSTed to the Assam sandbox
//                    (token fetched once per isolate); the outcomes in one D1 batch; every message acked
const enc = new TextEncoder();
let schema;
let token;
let steps;

const monthBounds = (period) => {
  const [y, m] = period.split("-").map(Number);
  const mm = String(m).padStart(2, "0");
  return { start: `${y}-${mm}-01`, end: `${y}-${mm}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, "0")}` };
};

async function ready(db) {
  schema ??= db.batch([
    db.prepare(
      "CREATE TABLE IF NOT EXISTS claims (id TEXT PRIMARY KEY, asha_id TEXT NOT NULL, period TEXT NOT NULL, wire TEXT NOT NULL, status TEXT NOT NULL, http_status INTEGER)",
    ),
    db.prepare("CREATE UNIQUE INDEX IF NOT EXISTS claims_month ON claims (asha_id, period)"),
  ]);
  await schema;
}

async function portalToken(env) {
  token ??= fetch(`${env.ASSAM_BASE_URL}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: env.ASSAM_CLIENT_ID,
      client_secret: env.ASSAM_CLIENT_SECRET,
    }).toString(),
  }).then(async (r) => (await r.json()).access_token);
  return token;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/v1/claims") return new Response("not found", { status: 404 });
    // The same for every request of the isolate: parsed once, so no variant pays for it per request.
    steps ??= new Set(
      String(env.STEPS ?? "")
        .split(",")
        .filter(Boolean),
    );
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(request.headers.get("X-API-Key") ?? "")));
    const caller = Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
    if (steps.has("limit") && !(await env.LIMITER.limit({ key: caller })).success) return new Response("rate limited", { status: 429 });
    const c = JSON.parse(await request.text());
    const wire = JSON.stringify({
      submission_id: c.claimId,
      partner_code: "AMRIT",
      period: monthBounds(c.period),
      asha_id: c.ashaId,
      generated_at: `${new Date(Date.now() + 19_800_000).toISOString().slice(0, 19)}+05:30`,
      verified_by: { employee_id: c.verifiedBy.employeeId, name: c.verifiedBy.name },
      items: c.activities.map((a) => ({ activity_code: a.code, count: a.count, incentive_amount: a.amount })),
    });
    await ready(env.DB);
    const [inserted] = await env.DB.batch([
      env.DB.prepare("INSERT INTO claims (id, asha_id, period, wire, status) VALUES (?, ?, ?, ?, 'QUEUED') ON CONFLICT DO NOTHING RETURNING id").bind(
        c.claimId,
        c.ashaId,
        c.period,
        wire,
      ),
    ]);
    if (!inserted.results.length) return Response.json({ error: { code: "CONFLICT" } }, { status: 409 });
    await env.CLAIMS.send({ id: c.claimId });
    return Response.json({ claimId: c.claimId, status: "QUEUED" }, { status: 202 });
  },

  async queue(batch, env) {
    await ready(env.DB);
    const ids = batch.messages.map((m) => m.body.id);
    const leased = await env.DB.prepare(
      `UPDATE claims SET status = 'SENDING' WHERE status = 'QUEUED' AND id IN (${ids.map(() => "?").join(", ")}) RETURNING id, wire`,
    )
      .bind(...ids)
      .all();
    const bearer = await portalToken(env);
    const outcomes = await Promise.all(
      leased.results.map(async (row) => {
        const r = await fetch(`${env.ASSAM_BASE_URL}/api/v1/submissions`, {
          method: "POST",
          headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": row.id },
          body: row.wire,
        });
        await r.arrayBuffer();
        return { id: row.id, status: r.status };
      }),
    );
    if (outcomes.length)
      await env.DB.batch(
        outcomes.map((o) =>
          env.DB.prepare("UPDATE claims SET status = ?, http_status = ? WHERE id = ?").bind(o.status < 300 ? "SENT" : "FAILED", o.status, o.id),
        ),
      );
    batch.ackAll();
  },
};
