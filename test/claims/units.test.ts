import { describe, expect, it } from "vitest";
import { backoffMs, parseRetryAfter, retryDelaySeconds, MAX_DELAY_SECONDS } from "../../src/domain/claims/backoff";
import { istIso, lastCutoff, lastEndedPeriod, periodBounds } from "../../src/domain/claims/periods";
import { decodeAnswer, encodeSubmission } from "../../src/adapters/assam/codec";
import { createAssamSandbox } from "../../src/sandbox/assam/app";
import { SAMPLE_CATALOGUE } from "../../src/sandbox/assam/sample-catalogue";

describe("backoff", () => {
  it("doubles from the base with jitter between d and 2d, capped at 12 h, never below Retry-After", () => {
    expect(backoffMs(1, 2000, null, () => 0.999999)).toBe(3999);
    expect(backoffMs(3, 2000, null, () => 0.5)).toBe(12_000);
    expect(backoffMs(60, 2000, null, () => 0.999999)).toBeLessThanOrEqual(MAX_DELAY_SECONDS * 1000);
    expect(backoffMs(1, 2000, 7000, () => 0)).toBe(7000);
    expect(retryDelaySeconds(1, 10, 1000, () => 0)).toBe(1);
    expect(retryDelaySeconds(40, 2000, null, () => 1)).toBe(MAX_DELAY_SECONDS);
  });
  it("the shipped schedule (8 attempts, wrangler.toml's 60 s base) outlasts an outage of an hour, even when every draw is the shortest", () => {
    let waited = 0;
    for (let attempt = 1; attempt < 8; attempt++) waited += retryDelaySeconds(attempt, 60_000, null, () => 0);
    expect(waited).toBeGreaterThanOrEqual(2 * 3600);
  });
  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});

describe("periods and the wire mapping (seed 000)", () => {
  it("first and last day of the month, leap years included; IST timestamps", () => {
    expect(periodBounds("2026-01")).toEqual({ start: "2026-01-01", end: "2026-01-31" });
    expect(periodBounds("2028-02")).toEqual({ start: "2028-02-01", end: "2028-02-29" });
    expect(istIso(Date.UTC(2026, 0, 31, 20, 30))).toBe("2026-02-01T02:00:00+05:30");
    expect(lastEndedPeriod(Date.UTC(2026, 0, 1, 0, 0))).toBe("2025-12");
    // The cut-off moment is 02:00 IST on the 1st = 20:30 UTC on the last day before.
    expect(lastCutoff(Date.UTC(2026, 0, 31, 20, 30))).toEqual({ at: Date.UTC(2026, 0, 31, 20, 30), upTo: "2026-01" });
    expect(lastCutoff(Date.UTC(2026, 0, 31, 20, 29))).toEqual({ at: Date.UTC(2025, 11, 31, 20, 30), upTo: "2025-12" });
    expect(lastCutoff(Date.UTC(2026, 1, 15))).toEqual({ at: Date.UTC(2026, 0, 31, 20, 30), upTo: "2026-01" });
  });
  it("reproduces the seed's example body", () => {
    const wire = encodeSubmission(
      {
        claimId: "4d0d8f3a-0b9b-4e7e-8b7a-9df4c4b3a6aa",
        ashaId: "AS-ASHA-001234",
        period: "2026-01",
        verifierEmployeeId: "34455",
        verifierName: "ASHA Supervisor/CHO name",
        items: [
          { code: "HBNC_VISIT", count: 3, amountPaise: 30_000 },
          { code: "ANC_VISIT", count: 5, amountPaise: 40_000 },
          { code: "FULL_ANC", count: 0, amountPaise: 0 },
        ],
      },
      "AMRIT",
      Date.UTC(2026, 0, 31, 20, 30),
    );
    expect(JSON.parse(wire)).toEqual({
      submission_id: "4d0d8f3a-0b9b-4e7e-8b7a-9df4c4b3a6aa",
      partner_code: "AMRIT",
      period: { start: "2026-01-01", end: "2026-01-31" },
      asha_id: "AS-ASHA-001234",
      generated_at: "2026-02-01T02:00:00+05:30",
      verified_by: { employee_id: "34455", name: "ASHA Supervisor/CHO name" },
      items: [
        { activity_code: "HBNC_VISIT", count: 3, incentive_amount: 300 },
        { activity_code: "ANC_VISIT", count: 5, incentive_amount: 400 },
      ],
    });
  });
  it("reads portal answers liberally", () => {
    expect(decodeAnswer('{"submission_id":"x","status":"ACCEPTED","receipt":"REQ-2026-01-31-001"}')).toEqual({
      status: "ACCEPTED",
      receipt: "REQ-2026-01-31-001",
      errors: [],
    });
    expect(decodeAnswer("Internal Server Error")).toEqual({ status: null, receipt: null, errors: [] });
    expect(decodeAnswer('{"status":"REJECTED","errors":[{"code":"X","message":"m"},{}]}').errors).toEqual([
      { code: "X", message: "m" },
      { code: "PORTAL_ERROR", message: "" },
    ]);
  });
  it("the sample catalogue holds the seed's codes at the seed's rates and AMRIT codes with NHM rates", () => {
    const rate = Object.fromEntries(SAMPLE_CATALOGUE.activities.map((a) => [a.code, a.amount]));
    expect(rate.HBNC_VISIT * 3).toBe(300);
    expect(rate.ANC_VISIT * 5).toBe(400);
    expect(rate).toMatchObject({ HBNC: 250, JSY_ANC_RURAL: 300, HBYC_QUARTERLY_VISITS: 50, ASHA_MONTHLY_ROUTINE: 2000 });
    expect(Object.keys(rate)).toEqual(expect.arrayContaining(["FULL_ANC", "E_HBNC_CACHAR", "JSY_ANC_URBAN"]));
  });
});

describe("the Assam sandbox (seed 000 semantics)", () => {
  const form = (id: string, secret: string) =>
    new Request("http://p/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret: secret }).toString(),
    });
  const body = (over: Record<string, unknown> = {}) => ({
    submission_id: "4d0d8f3a-0b9b-4e7e-8b7a-9df4c4b3a6aa",
    partner_code: "AMRIT",
    period: { start: "2026-01-01", end: "2026-01-31" },
    asha_id: "AS-ASHA-001234",
    generated_at: "2026-02-01T02:00:00+05:30",
    verified_by: { employee_id: "34455", name: "ASHA Supervisor" },
    items: [{ activity_code: "HBNC_VISIT", count: 3, incentive_amount: 300 }],
    ...over,
  });
  const submit = (app: { fetch: (r: Request) => Response | Promise<Response> }, token: string, b: unknown, key?: string) =>
    app.fetch(
      new Request("http://p/api/v1/submissions", {
        method: "POST",
        headers: {
          Authorization: `Bearer ${token}`,
          "Content-Type": "application/json",
          "Idempotency-Key": key ?? (b as { submission_id: string }).submission_id,
        },
        body: JSON.stringify(b),
      }),
    );

  it("issues expiring tokens and refuses expired, unknown and absent ones", async () => {
    const { app } = createAssamSandbox({ clientId: "c", clientSecret: "s", tokenTtlSeconds: 1 });
    expect((await app.fetch(form("c", "wrong"))).status).toBe(401);
    const tok = (await (await app.fetch(form("c", "s"))).json()) as { access_token: string; token_type: string; expires_in: number };
    expect(tok).toMatchObject({ token_type: "Bearer", expires_in: 1 });
    expect((await submit(app, tok.access_token, body())).status).toBe(202);
    expect((await submit(app, "made-up", body())).status).toBe(401);
    await new Promise((r) => setTimeout(r, 1_100));
    const expired = await submit(app, tok.access_token, body());
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error_description: string }).error_description).toBe("token expired");
  });

  it("202 first, 200 same payload (any key order), 409 different payload, 400 when Idempotency-Key differs", async () => {
    const { app } = createAssamSandbox({ clientId: "c", clientSecret: "s", immediateDecision: true });
    const { access_token } = (await (await app.fetch(form("c", "s"))).json()) as { access_token: string };
    const first = await submit(app, access_token, body());
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ submission_id: body().submission_id, status: "ACCEPTED", receipt: "REQ-2026-01-31-001" });
    const reordered = Object.fromEntries(Object.entries(body()).reverse());
    expect((await submit(app, access_token, reordered)).status).toBe(200);
    expect((await submit(app, access_token, body({ asha_id: "AS-ASHA-009999" }))).status).toBe(409);
    expect((await submit(app, access_token, body(), "some-other-key")).status).toBe(400);
  });

  it("rejects bad periods, unknown codes, non-positive counts and unknown ASHA ids; PENDING turns into the decision after polls", async () => {
    const { app } = createAssamSandbox({ clientId: "c", clientSecret: "s", pendingPolls: 1, unknownAshaIds: ["AS-ASHA-000001"] });
    const { access_token } = (await (await app.fetch(form("c", "s"))).json()) as { access_token: string };
    const id = "5d0d8f3a-0b9b-4e7e-8b7a-9df4c4b3a6ab";
    const res = await submit(
      app,
      access_token,
      body({
        submission_id: id,
        period: { start: "2026-01-02", end: "2026-01-31" },
        asha_id: "AS-ASHA-000001",
        items: [{ activity_code: "NOPE", count: 0, incentive_amount: 0 }],
      }),
    );
    expect(res.status).toBe(202);
    expect(((await res.json()) as { status: string }).status).toBe("PENDING");
    const poll = async () =>
      (await (
        await app.fetch(new Request(`http://p/api/v1/submissions/${id}`, { headers: { Authorization: `Bearer ${access_token}` } }))
      ).json()) as { status: string; errors: { code: string }[] };
    expect((await poll()).status).toBe("PENDING");
    const decided = await poll();
    expect(decided.status).toBe("REJECTED");
    expect(decided.errors.map((e) => e.code).sort()).toEqual(["INVALID_ACTIVITY_CODE", "INVALID_COUNT", "INVALID_PERIOD", "UNKNOWN_ASHA"]);
    const unknown = await app.fetch(
      new Request(`http://p/api/v1/submissions/${crypto.randomUUID()}`, { headers: { Authorization: `Bearer ${access_token}` } }),
    );
    expect(unknown.status).toBe(404);
  });

  it("serves its sample catalogue in the PUT /v1/admin/catalogue shape (npm start loads it)", async () => {
    const { app } = createAssamSandbox({});
    expect(await (await app.fetch(new Request("http://p/__sandbox/catalogue"))).json()).toEqual(SAMPLE_CATALOGUE);
  });

  it("static X-API-Key mode", async () => {
    const { app } = createAssamSandbox({ apiKeys: ["k1"] });
    const ok = await app.fetch(
      new Request("http://p/api/v1/submissions", {
        method: "POST",
        headers: { "X-API-Key": "k1", "Content-Type": "application/json", "Idempotency-Key": body().submission_id },
        body: JSON.stringify(body()),
      }),
    );
    expect(ok.status).toBe(202);
    const bad = await app.fetch(
      new Request("http://p/api/v1/submissions", { method: "POST", headers: { "X-API-Key": "k2", "Content-Type": "application/json" }, body: "{}" }),
    );
    expect(bad.status).toBe(401);
  });
});

describe("issue 15 item 1: the first retry waits at least DELIVERY_BACKOFF_BASE_MS", () => {
  it("even when the jitter draws zero", () => {
    expect(backoffMs(1, 2000, null, () => 0)).toBeGreaterThanOrEqual(2000);
    expect(retryDelaySeconds(1, 2000, null, () => 0)).toBeGreaterThanOrEqual(2);
  });
});
