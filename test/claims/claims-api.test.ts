import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, createClient, type TestClient } from "../helpers/gateway";
import { clearFaults } from "../helpers/sandbox";
import {
  assam,
  assamConfig,
  claimBody,
  claimRow,
  db,
  ENDED,
  portalCounts,
  putSampleCatalogue,
  setupClient,
  waitForStatuses,
  ashaId,
} from "./helpers";
import { currentIstPeriod } from "../../src/domain/claims/periods";

let client: TestClient;
let other: TestClient;

beforeAll(async () => {
  await assam("POST", "/__sandbox/reset");
  await putSampleCatalogue();
  client = await setupClient();
  other = await setupClient();
});
afterEach(async () => {
  await clearFaults();
});

const post = (body: unknown, c: TestClient = client, headers: Record<string, string> = {}) =>
  call("POST", "/v1/claims", { token: c.token, body, headers });

describe("POST /v1/claims (CONTRACT §5)", () => {
  it("202 for a new claim, with the §5 body, amounts from the catalogue and the version recorded", async () => {
    const body = claimBody();
    const res = await post(body, client, { "Idempotency-Key": body.claimId });
    expect(res.status).toBe(202);
    expect(Object.keys(res.json).sort()).toEqual(
      [
        "claimId",
        "ashaId",
        "period",
        "status",
        "receipt",
        "errors",
        "attempts",
        "deliveries",
        "totalAmount",
        "catalogueVersion",
        "createdAt",
        "updatedAt",
      ].sort(),
    );
    expect(res.json).toMatchObject({
      claimId: body.claimId,
      ashaId: body.ashaId,
      period: ENDED,
      status: "QUEUED",
      receipt: null,
      errors: [],
      attempts: 0,
      deliveries: [],
    });
    expect(res.json.totalAmount).toBe(700); // 300 given + 5 × 80 from the catalogue
    expect(res.json.catalogueVersion).toBe("SAMPLE-2025-04");
    const row = await claimRow(body.claimId);
    expect(row!.totalPaise).toBe(70_000);
    expect(row!.items).toEqual([
      { code: "ANC_VISIT", count: 5, amountPaise: 40_000 },
      { code: "HBNC_VISIT", count: 3, amountPaise: 30_000 },
    ]);
  });

  it("delivers the seed's wire body exactly once and records the portal's status and receipt", async () => {
    const body = claimBody();
    expect((await post(body)).status).toBe(202);
    const statuses = await waitForStatuses([body.claimId], ["PENDING", "ACCEPTED"]);
    expect(statuses.get(body.claimId)).toBe("PENDING");
    const stored = (await assam("GET", `/__sandbox/submissions/${body.claimId}`)).json;
    expect(stored.payload).toEqual({
      submission_id: body.claimId,
      partner_code: "AMRIT",
      period: { start: "2026-01-01", end: "2026-01-31" },
      asha_id: body.ashaId,
      generated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+05:30$/),
      verified_by: { employee_id: "34455", name: "ASHA Supervisor" },
      items: [
        { activity_code: "ANC_VISIT", count: 5, incentive_amount: 400 },
        { activity_code: "HBNC_VISIT", count: 3, incentive_amount: 300 },
      ],
    });
    const got = await call("GET", `/v1/claims/${body.claimId}`, { token: client.token });
    expect(got.json.status).toBe("PENDING");
    expect(got.json.receipt).toMatch(/^REQ-2026-01-31-\d{3}$/);
    expect(got.json.attempts).toBe(1);
    expect(got.json.deliveries).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "pending", httpStatus: 202, durationMs: expect.any(Number), at: expect.any(String) }),
    ]);
    expect((await portalCounts([body.claimId]))[body.claimId]).toMatchObject({ posts: 1, creates: 1 });

    // Refresh polls the portal now: PENDING → ACCEPTED.
    const refreshed = await call("POST", `/v1/claims/${body.claimId}/refresh`, { token: client.token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.status).toBe("ACCEPTED");
    // ACCEPTED can be refreshed again; SCHEDULED/QUEUED cannot.
    expect((await call("POST", `/v1/claims/${body.claimId}/refresh`, { token: client.token })).status).toBe(200);
  });

  it("200 with the recorded claim for the same content (order, zero counts, filled amounts, schedule ignored)", async () => {
    const body = claimBody({
      activities: [
        { code: "HBNC_VISIT", count: 3 },
        { code: "ANC_VISIT", count: 5 },
        { code: "FULL_ANC", count: 0 },
      ],
    });
    const first = await post(body);
    expect(first.status).toBe(202);
    const same = await post({
      ...body,
      activities: [
        { code: "ANC_VISIT", count: 5, amount: 400 },
        { code: "HBNC_VISIT", count: 3, amount: 300 },
      ],
      schedule: "now",
    });
    expect(same.status).toBe(200);
    expect(same.json.claimId).toBe(body.claimId);
    expect(same.json.totalAmount).toBe(700);
  });

  it("409 IDEMPOTENCY_CONFLICT for the same claimId with different content, and for another client's claimId without its content", async () => {
    const body = claimBody();
    expect((await post(body)).status).toBe(202);
    const e = expectError(await post({ ...body, activities: [{ code: "HBNC_VISIT", count: 4 }] }), 409, "IDEMPOTENCY_CONFLICT");
    expect(JSON.stringify(e)).not.toContain("HBNC");
    const foreign = expectError(await post(body, other), 409, "IDEMPOTENCY_CONFLICT");
    expect(JSON.stringify(foreign)).not.toContain(body.ashaId);
    // …and another client cannot read it.
    expectError(await call("GET", `/v1/claims/${body.claimId}`, { token: other.token }), 404, "NOT_FOUND");
    expectError(await call("POST", `/v1/claims/${body.claimId}/refresh`, { token: other.token }), 404, "NOT_FOUND");
    expectError(await call("DELETE", `/v1/claims/${body.claimId}`, { token: other.token }), 404, "NOT_FOUND");
  });

  it("400 when Idempotency-Key differs from claimId, and for bad input, with no state change", async () => {
    const body = claimBody();
    expectError(await post(body, client, { "Idempotency-Key": crypto.randomUUID() }), 400, "VALIDATION_FAILED");
    expectError(await post({ ...body, activities: [{ code: "HBNC_VISIT", count: -1 }] }), 400, "VALIDATION_FAILED");
    expectError(await post({ ...body, activities: [{ code: "HBNC_VISIT", count: 1.5 }] }), 400, "VALIDATION_FAILED");
    expectError(await post({ ...body, activities: [{ code: "HBNC_VISIT", count: 1, amount: 100.5 }] }), 400, "VALIDATION_FAILED");
    expectError(await post({ ...body, activities: [{ code: "HBNC_VISIT", count: 1, amount: "100" }] }), 400, "VALIDATION_FAILED");
    expectError(await post({ ...body, activities: [{ code: "HBNC_VISIT", count: 1, amount: -100 }] }), 400, "VALIDATION_FAILED");
    expectError(await post({ ...body, claimId: "not-a-uuid" }), 400, "VALIDATION_FAILED");
    expectError(await post({ ...body, period: "2026-13" }), 400, "VALIDATION_FAILED");
    expectError(await post({ ...body, extra: 1 }), 400, "VALIDATION_FAILED");
    expectError(
      await post({
        ...body,
        activities: [
          { code: "HBNC_VISIT", count: 1 },
          { code: "HBNC_VISIT", count: 2 },
        ],
      }),
      400,
      "VALIDATION_FAILED",
    );
    // Each amount is valid alone; their total is past exact integer paise (was a 500).
    const huge = Array.from({ length: 200 }, (_, i) => ({ code: `C${i}`, count: 1, amount: 9_999_999_999_999 }));
    expectError(await post({ ...body, period: "2001-01", activities: huge }), 400, "VALIDATION_FAILED");
    // One claim may total at most ₹1 crore, so a month's sums stay exact paise too.
    const overCap = expectError(
      await post({ ...body, period: "2001-01", activities: [{ code: "HBNC_VISIT", count: 1, amount: 10_000_001 }] }),
      400,
      "VALIDATION_FAILED",
    );
    expect(overCap.details).toEqual([{ path: "activities", message: "total amount above 10000000 rupees" }]);
    const atCap = claimBody({ schedule: "cutoff", activities: [{ code: "HBNC_VISIT", count: 1, amount: 10_000_000 }] });
    const accepted = await post(atCap);
    expect(accepted.status).toBe(202);
    expect(accepted.json.totalAmount).toBe(10_000_000);
    expect(await claimRow(body.claimId)).toBeUndefined();
  });

  it("422 UNKNOWN_ACTIVITY, AMOUNT_REQUIRED, EMPTY_CLAIM and PERIOD_OPEN", async () => {
    const unknown = expectError(await post(claimBody({ activities: [{ code: "NOT_A_CODE", count: 2 }] })), 422, "UNKNOWN_ACTIVITY");
    expect(unknown.details[0].code).toBe("NOT_A_CODE");
    // 2001-01 is before every catalogue version any test stores (files share storage): no catalogue applies.
    const noCat = claimBody({ period: "2001-01", activities: [{ code: "HBNC_VISIT", count: 2 }] });
    expectError(await post(noCat), 422, "AMOUNT_REQUIRED");
    const withAmounts = await post({ ...noCat, activities: [{ code: "ANYTHING_GOES", count: 2, amount: 150 }] });
    expect(withAmounts.status).toBe(202);
    expect(withAmounts.json.catalogueVersion).toBeNull();
    expectError(await post(claimBody({ activities: [{ code: "HBNC_VISIT", count: 0 }] })), 422, "EMPTY_CLAIM");
    expectError(await post(claimBody({ activities: [] })), 422, "EMPTY_CLAIM");
    const open = claimBody({ period: currentIstPeriod() });
    expectError(await post(open), 422, "PERIOD_OPEN");
    // The same open period with schedule "cutoff" is held until the cut-off.
    const held = await post({ ...open, schedule: "cutoff" });
    expect(held.status).toBe(202);
    expect(held.json.status).toBe("SCHEDULED");
  });

  it("one claim per ASHA per month: 409 DUPLICATE_PERIOD_CLAIM naming the existing claim; a resubmission after CANCELLED is allowed", async () => {
    const first = claimBody({ schedule: "cutoff" });
    expect((await post(first)).status).toBe(202);
    const second = claimBody({ ashaId: first.ashaId, activities: [{ code: "ANC_VISIT", count: 2 }] });
    const e = expectError(await post(second), 409, "DUPLICATE_PERIOD_CLAIM");
    expect(e.details[0]).toMatchObject({ claimId: first.claimId, status: "SCHEDULED" });
    // Another client's claim for the ASHA's month is a conflict too, without naming it.
    const foreign = expectError(await post(claimBody({ ashaId: first.ashaId }), other), 409, "DUPLICATE_PERIOD_CLAIM");
    expect(JSON.stringify(foreign)).not.toContain(first.claimId);

    const cancelled = await call("DELETE", `/v1/claims/${first.claimId}`, { token: client.token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.status).toBe("CANCELLED");
    expectError(await call("DELETE", `/v1/claims/${first.claimId}`, { token: client.token }), 409, "INVALID_STATE");
    expect((await post(second)).status).toBe(202);
  });

  it("a REJECTED claim makes room for its corrected resubmission", async () => {
    await assamConfig({ syncValidation: true });
    try {
      const bad = claimBody({ ashaId: "AS-UNKNOWN-1" });
      expect((await post(bad)).status).toBe(202);
      const st = await waitForStatuses([bad.claimId], ["REJECTED"]);
      expect(st.get(bad.claimId)).toBe("REJECTED");
      const got = await call("GET", `/v1/claims/${bad.claimId}`, { token: client.token });
      expect(got.json.errors).toEqual([expect.objectContaining({ code: "UNKNOWN_ASHA" })]);
      expect(got.json.deliveries[0]).toMatchObject({ outcome: "rejected", httpStatus: 422 });
      const corrected = claimBody({ ashaId: "AS-UNKNOWN-1", activities: [{ code: "HBNC_VISIT", count: 1 }] });
      expect((await post(corrected)).status).toBe(202);
    } finally {
      await assamConfig({ syncValidation: false });
    }
  });

  it("cancel and refresh answer 409 INVALID_STATE outside their states", async () => {
    const body = claimBody({ schedule: "cutoff" });
    await post(body);
    expectError(await call("POST", `/v1/claims/${body.claimId}/refresh`, { token: client.token }), 409, "INVALID_STATE");
    const queued = claimBody();
    await post(queued);
    expectError(await call("DELETE", `/v1/claims/${queued.claimId}`, { token: client.token }), 409, "INVALID_STATE");
    expectError(await call("GET", `/v1/claims/${crypto.randomUUID()}`, { token: client.token }), 404, "NOT_FOUND");
  });

  it("scopes: claims:write to create, refresh and cancel; claims:read to read and report", async () => {
    const reader = await createClient(["claims:read"]);
    const writer = await createClient(["claims:write"]);
    expectError(await call("POST", "/v1/claims", { body: claimBody() }), 401, "UNAUTHORIZED");
    expectError(await call("POST", "/v1/claims", { token: reader.token, body: claimBody() }), 403, "FORBIDDEN");
    expectError(await call("POST", `/v1/claims/${crypto.randomUUID()}/refresh`, { token: reader.token }), 403, "FORBIDDEN");
    expectError(await call("DELETE", `/v1/claims/${crypto.randomUUID()}`, { token: reader.token }), 403, "FORBIDDEN");
    expectError(await call("GET", "/v1/claims", { token: writer.token }), 403, "FORBIDDEN");
    expectError(await call("GET", `/v1/reports/claims?period=${ENDED}`, { token: writer.token }), 403, "FORBIDDEN");
    expectError(
      await call("PUT", "/v1/admin/catalogue", {
        token: writer.token,
        body: { version: "x", effectiveFrom: "2026-01", activities: [{ code: "A", name: "a", amount: 1 }] },
      }),
      403,
      "FORBIDDEN",
    );
    expect((await call("POST", "/v1/claims", { apiKey: writer.apiKey, body: claimBody() })).status).toBe(202);
    expect((await call("GET", "/v1/claims", { apiKey: reader.apiKey })).status).toBe(200);
  });
});

describe("reading claims", () => {
  it("lists only the caller's claims, filtered, with keyset cursors", async () => {
    const c = await setupClient();
    const asha = ashaId();
    const made: string[] = [];
    for (const period of ["2025-05", "2025-06", "2025-07", "2025-08", "2025-09"]) {
      const b = claimBody({ ashaId: asha, period, schedule: "cutoff" });
      expect((await post(b, c)).status).toBe(202);
      made.push(b.claimId);
    }
    await post(claimBody({ schedule: "cutoff" }), other);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { json: { items: { claimId: string }[]; nextCursor: string | null } } = await call(
        "GET",
        `/v1/claims?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        { token: c.token },
      );
      expect(page.json.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.json.items.map((i) => i.claimId));
      cursor = page.json.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...made].sort());
    const one = await call("GET", `/v1/claims?period=2025-07&ashaId=${asha}&status=SCHEDULED`, { token: c.token });
    expect(one.json.items.map((i: { period: string }) => i.period)).toEqual(["2025-07"]);
    expect((await call("GET", "/v1/claims?status=ACCEPTED", { token: c.token })).json.items).toEqual([]);
    expectError(await call("GET", "/v1/claims?cursor=garbage", { token: c.token }), 400, "VALIDATION_FAILED");
    expectError(await call("GET", "/v1/claims?status=NOPE", { token: c.token }), 400, "VALIDATION_FAILED");

    const bulk = await call("POST", "/v1/claims/status", { token: c.token, body: { claimIds: [made[0], made[1], crypto.randomUUID()] } });
    expect(bulk.status).toBe(200);
    expect(bulk.json.items.map((i: { claimId: string }) => i.claimId)).toEqual([made[0], made[1]]);
    expect(bulk.json.notFound).toHaveLength(1);
    const foreign = await call("POST", "/v1/claims/status", { token: other.token, body: { claimIds: [made[0]] } });
    expect(foreign.json.items).toEqual([]);
    expectError(
      await call("POST", "/v1/claims/status", { token: c.token, body: { claimIds: Array.from({ length: 501 }, () => crypto.randomUUID()) } }),
      400,
      "VALIDATION_FAILED",
    );
  });
});

describe("POST /v1/claims/batch", () => {
  it("answers each item with exactly the single-claim semantics", async () => {
    const ok = claimBody();
    const dupPeriod = claimBody({ ashaId: ok.ashaId });
    const existing = claimBody();
    expect((await post(existing)).status).toBe(202);
    const res = await call("POST", "/v1/claims/batch", {
      token: client.token,
      body: {
        claims: [
          ok,
          ok, // the same claim twice in one batch: the second is a replay
          dupPeriod,
          existing,
          { ...existing, activities: [{ code: "HBNC_VISIT", count: 9 }] },
          claimBody({ activities: [{ code: "NOPE", count: 1 }] }),
          { ...claimBody(), extra: true },
          claimBody({ period: currentIstPeriod() }),
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.json.results.map((r: { httpStatus: number }) => r.httpStatus)).toEqual([202, 200, 409, 200, 409, 422, 400, 422]);
    expect(res.json.results[2].error.code).toBe("DUPLICATE_PERIOD_CLAIM");
    expect(res.json.results[4].error.code).toBe("IDEMPOTENCY_CONFLICT");
    expect(res.json.results[5].error.code).toBe("UNKNOWN_ACTIVITY");
    expect(res.json.results[6].error.code).toBe("VALIDATION_FAILED");
    expect(res.json.results[7].error.code).toBe("PERIOD_OPEN");
    expect(res.json.results[0].claim.status).toBe("QUEUED");
    expectError(await call("POST", "/v1/claims/batch", { token: client.token, body: { claims: [] } }), 400, "VALIDATION_FAILED");
  });

  it("takes 500 claims in one call", async () => {
    const claims = Array.from({ length: 500 }, () => claimBody({ schedule: "cutoff", period: "2025-12" }));
    const res = await call("POST", "/v1/claims/batch", { token: client.token, body: { claims } });
    expect(res.status).toBe(200);
    expect(res.json.results.every((r: { httpStatus: number }) => r.httpStatus === 202)).toBe(true);
    expectError(
      await call("POST", "/v1/claims/batch", { token: client.token, body: { claims: [...claims, claimBody()] } }),
      400,
      "VALIDATION_FAILED",
    );
  });
});

describe("the activity catalogue", () => {
  it("versions apply from effectiveFrom until a later one's; versions are immutable and audited", async () => {
    // A window of 2011 of its own: a version applies until the next one, to every period after it, and
    // the files share storage. So this test brackets its version (a base before, a closing one after,
    // knowing none of the codes other tests claim) and leaves later periods as it found them.
    const tag = crypto.randomUUID().slice(0, 8);
    const base = { version: `T0-${tag}`, effectiveFrom: "2011-01", activities: [{ code: "HBNC_VISIT", name: "HBNC", amount: 100 }] };
    const v = { version: `T-${tag}`, effectiveFrom: "2011-03", activities: [{ code: "HBNC_VISIT", name: "HBNC", amount: 120 }] };
    const closing = { version: `T9-${tag}`, effectiveFrom: "2011-06", activities: [{ code: "CLOSED_TEST_WINDOW", name: "none", amount: 1 }] };
    for (const c of [base, closing]) expect((await call("PUT", "/v1/admin/catalogue", { admin: true, body: c })).status).toBe(201);
    const put = await call("PUT", "/v1/admin/catalogue", { admin: true, body: v });
    expect(put.status).toBe(201);
    expect((await call("PUT", "/v1/admin/catalogue", { admin: true, body: v })).status).toBe(200);
    expectError(
      await call("PUT", "/v1/admin/catalogue", { admin: true, body: { ...v, activities: [{ code: "HBNC_VISIT", name: "HBNC", amount: 130 }] } }),
      409,
      "CONFLICT",
    );
    expectError(
      await call("PUT", "/v1/admin/catalogue", { admin: true, body: { ...v, version: "y", activities: [{ code: "A", name: "a", amount: 1.5 }] } }),
      400,
      "VALIDATION_FAILED",
    );

    const march = await post(claimBody({ period: "2011-03", activities: [{ code: "HBNC_VISIT", count: 2 }] }));
    expect(march.json).toMatchObject({ catalogueVersion: v.version, totalAmount: 240 });
    const feb = await post(claimBody({ period: "2011-02", activities: [{ code: "HBNC_VISIT", count: 2 }] }));
    expect(feb.json).toMatchObject({ catalogueVersion: base.version, totalAmount: 200 });
    // The new version does not know ANC_VISIT.
    expectError(await post(claimBody({ period: "2011-03", activities: [{ code: "ANC_VISIT", count: 2 }] })), 422, "UNKNOWN_ACTIVITY");

    const audit = await call("GET", `/v1/admin/audit?action=catalogue.put&targetId=${v.version}`, { admin: true });
    expect(audit.json.items).toHaveLength(1);
    const inForce = await call("GET", "/v1/claims/catalogue?period=2011-04", { token: client.token });
    expect(inForce.json.version).toBe(v.version);
    expect((await call("GET", "/v1/claims/catalogue?period=2011-06", { token: client.token })).json.version).toBe(closing.version);
  });
});

describe("GET /v1/reports/claims", () => {
  it("counts and amounts per status for the caller, as JSON and CSV", async () => {
    const c = await setupClient();
    for (let i = 0; i < 3; i++) await post(claimBody({ period: "2025-11", schedule: "cutoff" }), c);
    const cancelled = claimBody({ period: "2025-11", schedule: "cutoff", activities: [{ code: "ASHA_MONTHLY_ROUTINE", count: 1 }] });
    await post(cancelled, c);
    await call("DELETE", `/v1/claims/${cancelled.claimId}`, { token: c.token });
    const r = await call("GET", "/v1/reports/claims?period=2025-11", { token: c.token });
    expect(r.status).toBe(200);
    const by = Object.fromEntries(r.json.statuses.map((s: { status: string }) => [s.status, s]));
    expect(by.SCHEDULED).toMatchObject({ count: 3, totalAmount: 2100 });
    expect(by.CANCELLED).toMatchObject({ count: 1, totalAmount: 2000 });
    expect(r.json.total).toEqual({ count: 4, totalAmount: 4100 });
    const csv = await call("GET", "/v1/reports/claims?period=2025-11", { token: c.token, headers: { Accept: "text/csv" } });
    expect(csv.headers.get("content-type")).toContain("text/csv");
    expect(csv.text).toContain("period,status,count,total_amount\r\n");
    expect(csv.text).toContain("2025-11,SCHEDULED,3,2100.00\r\n");
    expect(csv.text).toContain("2025-11,TOTAL,4,4100.00\r\n");
    expectError(await call("GET", "/v1/reports/claims?period=2025", { token: c.token }), 400, "VALIDATION_FAILED");
  });
});

describe("issue 12: one CSV writer for the report API and the console", () => {
  it("amounts as exact rupees with two decimals in both", async () => {
    const c = await setupClient();
    await post(claimBody({ period: "2025-05", schedule: "cutoff" }), c);
    const csv = await call("GET", "/v1/reports/claims?period=2025-05", { token: c.token, headers: { Accept: "text/csv" } });
    expect(csv.text).toContain("2025-05,SCHEDULED,1,700.00\r\n");
    const { claimsReconciliation, reconciliationCsv } = await import("../../src/console/ops/reconciliation");
    const consoleCsv = reconciliationCsv(await claimsReconciliation(db(), "2025-05"));
    // One writer: the same columns, and every amount as rupees with exactly two decimals, in both.
    expect(consoleCsv.split("\r\n")[0]).toBe(csv.text.split("\r\n")[0]);
    for (const text of [csv.text, consoleCsv]) {
      const rows = text.trim().split("\r\n").slice(1);
      expect(rows).toHaveLength(8);
      for (const r of rows) expect(r).toMatch(/^2025-05,[A-Z]+,\d+,\d+\.\d{2}$/);
    }
  });
});
