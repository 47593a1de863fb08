import { afterEach, describe, expect, it, vi } from "vitest";
import { call, createClient, expectError } from "../helpers/gateway";

describe("request logs", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes one JSON line per request with route, status, duration, request id and client id, and no secrets", async () => {
    const client = await createClient(["ops"]);
    const lines: string[] = [];
    for (const m of ["log", "warn", "error", "info", "debug"] as const)
      vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(" ")));
    await call("POST", "/v1/auth/token", {
      body: { grant_type: "client_credentials", client_id: client.clientId, client_secret: client.clientSecret },
    });
    await call("GET", "/v1/admin/audit?limit=1", { apiKey: client.apiKey, headers: { "X-Request-Id": "trace-1" } });
    vi.restoreAllMocks();
    const all = lines.join("\n");
    expect(all).not.toContain(client.clientSecret);
    expect(all).not.toContain(client.apiKey);
    expect(all).not.toContain(client.token);
    const entries = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === "request");
    expect(entries).toHaveLength(2);
    expect(entries[1]).toMatchObject({
      level: "info",
      method: "GET",
      route: "/v1/admin/audit",
      status: 200,
      requestId: "trace-1",
      clientId: client.clientId,
    });
    expect(typeof entries[1].durationMs).toBe("number");
  });
});

describe("per-client rate limit", () => {
  it("answers 429 RATE_LIMITED with Retry-After past 600 a minute, per client", async () => {
    const noisy = await createClient(["ops"], "noisy");
    const quiet = await createClient(["ops"], "quiet");
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    // The binding counts in 60 s windows: 1,300 tries reach the 601st request of one window even
    // when a window boundary falls inside the loop (up to 600 + 601 requests).
    for (let i = 0; i < 1300 && !limited; i++) {
      const res = await call("GET", "/v1/admin/audit?limit=1", { apiKey: noisy.apiKey });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(200);
    }
    expect(limited).toBeDefined();
    expectError(limited!, 429, "RATE_LIMITED");
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await call("GET", "/v1/admin/audit?limit=1", { apiKey: quiet.apiKey })).status).toBe(200);
  });
});
