import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { call, createClient, expectError, tokenFor } from "../helpers/gateway";
import { ClientDirectory, FRESH_MS, MAX_STALENESS_MS, type ClientLoader, type ClientRecord } from "../../src/domain/client-directory";

const admin = { admin: true };

describe("clients carry tenants and can be changed (CONTRACT v3 §4)", () => {
  it("creates a client with tenants, shows them, and changes scopes and tenants with PATCH (audited)", async () => {
    const created = await call("POST", "/v1/admin/clients", {
      ...admin,
      body: { name: "tenanted", scopes: ["funds:read"], tenants: ["pb.jalandhar", "as.kamrup"] },
    });
    expect(created.status).toBe(201);
    expect(created.json.tenants).toEqual(["as.kamrup", "pb.jalandhar"]);
    const id = created.json.clientId;

    // Absent tenants = none.
    const bare = await call("POST", "/v1/admin/clients", { ...admin, body: { name: "bare", scopes: ["ops"] } });
    expect(bare.json.tenants).toEqual([]);

    const patched = await call("PATCH", `/v1/admin/clients/${id}`, { ...admin, body: { tenants: ["*"], scopes: ["funds:read", "funds:write"] } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ clientId: id, tenants: ["*"], scopes: ["funds:read", "funds:write"] });
    const list = await call("GET", "/v1/admin/clients", admin);
    expect(list.json.items.find((c: { clientId: string }) => c.clientId === id)).toMatchObject({ tenants: ["*"] });

    const audit = await call("GET", `/v1/admin/audit?action=client.updated&targetId=${id}`, admin);
    expect(audit.json.items).toHaveLength(1);
    expect(audit.json.items[0].before).toMatchObject({ tenants: ["as.kamrup", "pb.jalandhar"], scopes: ["funds:read"] });
    expect(audit.json.items[0].after).toMatchObject({ tenants: ["*"], scopes: ["funds:read", "funds:write"] });
  });

  it("refuses a PATCH with nothing to change, unknown fields, a bad tenant id or an unknown client", async () => {
    const c = await createClient(["ops"]);
    expectError(await call("PATCH", `/v1/admin/clients/${c.clientId}`, { ...admin, body: {} }), 400, "VALIDATION_FAILED");
    expectError(await call("PATCH", `/v1/admin/clients/${c.clientId}`, { ...admin, body: { tenants: ["bad tenant"] } }), 400, "VALIDATION_FAILED");
    expectError(await call("PATCH", `/v1/admin/clients/${c.clientId}`, { ...admin, body: { scopes: ["ops"], name: "x" } }), 400, "VALIDATION_FAILED");
    expectError(await call("PATCH", "/v1/admin/clients/cl_nobody", { ...admin, body: { scopes: ["ops"] } }), 404, "NOT_FOUND");
    expectError(await call("PATCH", `/v1/admin/clients/${c.clientId}`, { token: c.token, body: { scopes: ["ops"] } }), 403, "FORBIDDEN");
  });

  it("a scope taken away stops tokens already issued, at once in this isolate", async () => {
    const c = await createClient(["ops", "claims:read"]);
    expect((await call("GET", "/v1/admin/audit?limit=1", { token: c.token })).status).toBe(200);
    expect((await call("PATCH", `/v1/admin/clients/${c.clientId}`, { ...admin, body: { scopes: ["claims:read"] } })).status).toBe(200);
    expectError(await call("GET", "/v1/admin/audit?limit=1", { token: c.token }), 403, "FORBIDDEN");
    expectError(await call("GET", "/v1/admin/audit?limit=1", { apiKey: c.apiKey }), 403, "FORBIDDEN");
    // And a scope given is usable by the same token.
    expect((await call("PATCH", `/v1/admin/clients/${c.clientId}`, { ...admin, body: { scopes: ["ops"] } })).status).toBe(200);
    expect((await call("GET", "/v1/admin/audit?limit=1", { token: c.token })).status).toBe(200);
  });

  it("of two concurrent rotations exactly one answers credentials, and those work", async () => {
    const c = await createClient(["ops"]);
    const [a, b] = await Promise.all([
      call("POST", `/v1/admin/clients/${c.clientId}/rotate`, admin),
      call("POST", `/v1/admin/clients/${c.clientId}/rotate`, admin),
    ]);
    const statuses = [a.status, b.status].sort();
    // Before: both answered 200 with different credentials, of which only the last written worked.
    expect(statuses).toEqual([200, 409]);
    const winner = a.status === 200 ? a : b;
    expectError(a.status === 409 ? a : b, 409, "CONFLICT");
    expect((await call("GET", "/v1/admin/audit?limit=1", { apiKey: winner.json.apiKey })).status).toBe(200);
    expect(await tokenFor(c.clientId, winner.json.clientSecret)).toEqual(expect.any(String));
    const audit = await call("GET", `/v1/admin/audit?action=client.rotated&targetId=${c.clientId}`, admin);
    expect(audit.json.items).toHaveLength(1);
  });
});

describe("the client directory: no D1 read per request, changes within 10 seconds", () => {
  const record = (over: Partial<ClientRecord> = {}): ClientRecord => ({
    id: "cl_a",
    name: "a",
    scopes: ["ops"],
    tenants: [],
    generation: 1,
    apiKeyHash: "h1",
    revoked: false,
    ...over,
  });

  function harness() {
    let now = 1_000_000;
    const db = { row: record() as ClientRecord | null, reads: 0 };
    const loader: ClientLoader = {
      byId: async (id) => {
        db.reads++;
        return db.row && db.row.id === id ? { ...db.row } : null;
      },
      byKeyHash: async (hash) => {
        db.reads++;
        return db.row && db.row.apiKeyHash === hash ? { ...db.row } : null;
      },
    };
    const deferred: Promise<unknown>[] = [];
    const defer = (p: Promise<unknown>) => void deferred.push(p);
    const dir = new ClientDirectory(() => now);
    return {
      db,
      dir,
      get: () => dir.byId(loader, "cl_a", defer),
      byKey: (h: string) => dir.byKeyHash(loader, h, defer),
      advance: (ms: number) => void (now += ms),
      settle: () => Promise.all(deferred.splice(0)),
    };
  }

  it("reads once, then serves from the isolate while fresh", async () => {
    const h = harness();
    for (let i = 0; i < 100; i++) expect((await h.get())?.id).toBe("cl_a");
    expect(h.db.reads).toBe(1);
  });

  it("between fresh and the bound: answers at once and refreshes behind the response", async () => {
    const h = harness();
    await h.get();
    h.db.row = record({ revoked: true });
    h.advance(FRESH_MS + 1);
    expect((await h.get())?.revoked).toBe(false); // served, not waited for
    await h.settle();
    expect(h.db.reads).toBe(2);
    expect((await h.get())?.revoked).toBe(true);
  });

  it("never serves a record read more than MAX_STALENESS_MS ago, even with no traffic in between", async () => {
    const h = harness();
    await h.get();
    h.db.row = record({ revoked: true });
    h.advance(MAX_STALENESS_MS);
    expect((await h.get())?.revoked).toBe(true);
    expect(h.db.reads).toBe(2);
    expect(MAX_STALENESS_MS).toBeLessThanOrEqual(10_000);
  });

  it("a rotated key stops once the record is refreshed, and unknown keys are cached as absent under the same bound", async () => {
    const h = harness();
    expect((await h.byKey("h1"))?.id).toBe("cl_a");
    h.db.row = record({ apiKeyHash: "h2", generation: 2 });
    h.advance(MAX_STALENESS_MS);
    expect(await h.byKey("h1")).toBeNull();
    expect((await h.byKey("h2"))?.generation).toBe(2);
    const reads = h.db.reads;
    expect(await h.byKey("nope")).toBeNull();
    expect(await h.byKey("nope")).toBeNull();
    expect(h.db.reads).toBe(reads + 1);
  });

  it("a change made in this isolate applies at once, and a slower read begun before it does not undo it", async () => {
    const h = harness();
    await h.get();
    h.advance(MAX_STALENESS_MS);
    const pending = h.get(); // a read begins…
    h.dir.remember(record({ revoked: true })); // …then this isolate revokes
    await pending;
    expect((await h.get())?.revoked).toBe(true);
  });
});

/**
 * Guesses until the first 429 and answers how many 401s came before it. The limiter counts 100
 * failures a minute in windows aligned to the clock (as Cloudflare's binding does), so the 429 comes
 * after 100 failures, or up to 200 when a window boundary falls inside the burst: the loop allows
 * for that instead of assuming the burst fits in one window (which failed a few runs in a hundred).
 */
async function guessUntil429(guess: (i: number) => Promise<number>): Promise<number> {
  for (let i = 0; i < 260; i++) {
    const status = await guess(i);
    if (status === 429) {
      expect(i).toBeLessThanOrEqual(201);
      return i;
    }
    expect(status).toBe(401);
  }
  throw new Error("no 429 after 260 failed credentials");
}

describe("failed credentials are limited per address (issue 15, item 15)", () => {
  it("past the limit an address gets 429 for every key it presents, even the right one; other addresses are untouched", async () => {
    const c = await createClient(["ops"]);
    const attacker = { "CF-Connecting-IP": "203.0.113.77" };
    // Before: 700 wrong keys in a burst were 700 × 401, no 429.
    const guess = async (i: number) => (await call("GET", "/v1/admin/audit?limit=1", { apiKey: `ak_guess_${i}`, headers: attacker })).status;
    const first429 = await guessUntil429(guess);
    // Once over, the address is refused whatever it presents.
    const after: number[] = [];
    for (let i = 0; i < 10; i++) after.push(await guess(1000 + i));
    expect(after).toEqual(Array(10).fill(429));
    expect(first429).toBeGreaterThanOrEqual(100);
    const right = await call("GET", "/v1/admin/audit?limit=1", { apiKey: c.apiKey, headers: attacker });
    expectError(right, 429, "RATE_LIMITED");
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
    const admin = await call("GET", "/v1/admin/audit?limit=1", { apiKey: env.ADMIN_API_KEY, headers: attacker });
    expectError(admin, 429, "RATE_LIMITED");
    expect((await call("GET", "/v1/admin/audit?limit=1", { apiKey: c.apiKey, headers: { "CF-Connecting-IP": "198.51.100.9" } })).status).toBe(200);
  });

  it("the token endpoint has its own bucket: guessed secrets end in 429", async () => {
    const c = await createClient(["ops"]);
    const from = { "CF-Connecting-IP": "203.0.113.78", "Content-Type": "application/x-www-form-urlencoded" };
    const guess = async (i: number) => {
      const body = new URLSearchParams({ grant_type: "client_credentials", client_id: c.clientId, client_secret: `cs_guess_${i}` }).toString();
      return (await call("POST", "/v1/auth/token", { rawBody: body, headers: from })).status;
    };
    expect(await guessUntil429(guess)).toBeGreaterThanOrEqual(100);
    const after: number[] = [];
    for (let i = 0; i < 5; i++) after.push(await guess(1000 + i));
    expect(after).toEqual(Array(5).fill(429));
    const right = new URLSearchParams({ grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret }).toString();
    expect((await call("POST", "/v1/auth/token", { rawBody: right, headers: from })).status).toBe(429);
  });
});

describe("bodies", () => {
  it("an empty body with no Content-Type on a route with a JSON schema is a 400, not a 500 (issue 15, item 14)", async () => {
    const c = await createClient(["claims:write"]);
    // An empty byte array: a string body would get a text/plain Content-Type of its own.
    const res = await call("POST", "/v1/claims", { token: c.token, rawBody: new Uint8Array(0), headers: { "Content-Length": "0" } });
    expectError(res, 400, "VALIDATION_FAILED");
  });

  it("stops reading a chunked body at 1 MiB, on the JSON routes and on the token endpoint", async () => {
    const c = await createClient(["claims:write"]);
    for (const [path, type, auth] of [
      ["/v1/claims", "application/json", { token: c.token }],
      ["/v1/auth/token", "application/x-www-form-urlencoded", {}],
    ] as const) {
      let pulled = 0;
      const chunk = new Uint8Array(64 * 1024).fill(0x20);
      // 64 MiB on offer: a reader that read it whole would pull 1,024 chunks.
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (++pulled > 1024) controller.close();
          else controller.enqueue(chunk);
        },
      });
      const res = await call("POST", path, { ...auth, rawBody: stream, headers: { "Content-Type": type } });
      expect(res.status).toBe(413);
      expect(pulled).toBeLessThan(200);
    }
  });
});
