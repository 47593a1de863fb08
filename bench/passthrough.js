// The baseline for the overhead benchmark: a bare Worker that forwards GET /v1/health/states to the
// UMANG getStates op with the envelope filled in and returns the portal's body untouched. No auth,
// no logging, no D1: what "a proxy in the same runtime" costs at the least. Started with a LIMITER
// binding (the overhead scenario's second pass-through), it first asks that rate-limiting binding, as
// the gateway asks CLIENT_RATE_LIMITER for every client call: what the local binding alone costs.
let trkr = 0;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== "/v1/health/states") return new Response("not found", { status: 404 });
    if (env.LIMITER && !(await env.LIMITER.limit({ key: "bench" })).success) return new Response("rate limited", { status: 429 });
    const envelope = {
      tkn: env.UMANG_TKN,
      trkr: String(++trkr),
      usrid: env.UMANG_USER_ID,
      srvid: "1972",
      mode: "web",
      pltfrm: "web",
      did: null,
      deptid: "379",
      subsid: "0",
      subsid2: "0",
      formtrkr: "0",
    };
    const upstream = await fetch(`${env.UMANG_BASE_URL}/getStates`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${env.UMANG_API_TOKEN}`,
        deptid: "379",
        srvid: "1972",
        subsid: "0",
        subsid2: "0",
        formtrkr: "0",
        "Content-Type": "application/json",
      },
      body: JSON.stringify(envelope),
    });
    return new Response(upstream.body, { status: upstream.status, headers: { "Content-Type": "application/json" } });
  },
};
