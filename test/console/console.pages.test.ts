import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { call } from "../helpers/gateway";
import { browse, csrfOf, db, now, seedCall, seedDeadLetter, seedFailedClaim, signInAdmin } from "./helpers";
import { fundsAccounts } from "../../src/storage/schema/funds-accounts";
import { alerts } from "../../src/storage/schema/alerts";
import { claims } from "../../src/storage/schema/claims";
import { auditInsert } from "../../src/storage/audit";
import { upstreamHealth } from "../../src/console/ops/overview";

describe("console pages render seeded rows", () => {
  // Each test asserts on its own rows: a period far ahead (the chart shows the latest periods), a tenant of its own.
  it("overview: claims chart per period and status, upstream health, dead letters, funds per head of account", async () => {
    const cookie = await signInAdmin();
    const period = "2999-11";
    const tenantId = `pb.t${crypto.randomUUID().slice(0, 8)}`;
    await seedFailedClaim({ period, totalPaise: 12_345_600 });
    const accepted = await seedFailedClaim({ period, totalPaise: 40_000 });
    await db().update(claims).set({ status: "ACCEPTED", failureCode: null }).where(eq(claims.id, accepted)).run();
    await seedCall({ portal: "ifix", operation: "disburse", outcome: "timeout", httpStatus: null, durationMs: 2000, errorCode: "UPSTREAM_TIMEOUT" });
    await seedDeadLetter({ type: "deliver", claimId: crypto.randomUUID(), dispatchId: "d" });
    const t = now();
    await db()
      .insert(fundsAccounts)
      .values([
        {
          tenantId,
          headOfAccount: "2210-NHM-HOA-01",
          ssuCode: "SSU-1",
          sanctioned: true,
          allotted: 1_000_000_00,
          withdrawn: 0,
          committed: 250_00,
          available: 999_750_00,
          createdAt: t,
          updatedAt: t,
        },
        {
          tenantId,
          headOfAccount: "2210-NHM-HOA-01",
          ssuCode: "SSU-2",
          sanctioned: true,
          allotted: 500_00,
          withdrawn: 100_00,
          committed: 0,
          available: 400_00,
          createdAt: t,
          updatedAt: t,
        },
      ])
      .run();

    const page = await browse("GET", "/console", { cookie });
    expect(page.status).toBe(200);
    const html = page.text;
    expect(html).toMatch(/<svg[^>]*role="img"/);
    expect(html).toContain(`${period} FAILED: 1`);
    expect(html).toContain(`${period} ACCEPTED: 1`);
    expect(html).toContain("₹1,23,456.00"); // FAILED amount in Indian grouping, from paise
    expect(html).toMatch(/ifix<\/a><\/td><td>1 hour<\/td><td class="num">[1-9]\d*<\/td>/);
    expect(html).toContain("disburse · timeout");
    expect(html).toContain("UPSTREAM_TIMEOUT");
    expect(html).toMatch(/Open dead letters<b class="bad">[1-9]\d*<\/b>/);
    // Summed over the two SSUs: allotted ₹10,00,500.00, withdrawn ₹100.00, committed ₹250.00, available ₹10,00,150.00
    expect(html).toContain(
      `<td>${tenantId}</td><td>2210-NHM-HOA-01</td><td class="num">₹10,00,500.00</td><td class="num">₹100.00</td><td class="num">₹250.00</td><td class="num">₹10,00,150.00</td>`,
    );
  });

  it("upstream health: calls, success rate, p50 and p95 and the last error per portal since a moment", async () => {
    // Calls at a moment of their own, ahead: the window then holds exactly these six.
    const since = Date.now() + 400 * 86_400_000;
    const at = (i: number) => new Date(since + i * 1000).toISOString();
    let i = 0;
    for (const d of [10, 20, 30, 40, 500]) await seedCall({ portal: "ifix", operation: "disburse", durationMs: d, at: at(i++) });
    await seedCall({
      portal: "ifix",
      operation: "disburse",
      outcome: "timeout",
      httpStatus: null,
      durationMs: 2000,
      errorCode: "UPSTREAM_TIMEOUT",
      at: at(i++),
    });
    const ifix = (await upstreamHealth(db(), new Date(since).toISOString())).find((h) => h.portal === "ifix")!;
    // 6 calls, 1 failure → 83.3 %; p50 of [10,20,30,40,500,2000] = 30, p95 = 2000.
    expect(ifix).toMatchObject({
      calls: 6,
      failures: 1,
      p50: 30,
      p95: 2000,
      lastError: { operation: "disburse", outcome: "timeout", errorCode: "UPSTREAM_TIMEOUT" },
    });
    expect(ifix.successRate).toBeCloseTo(5 / 6, 10);
  });

  it("transaction log: filters, paging and bodies shown redacted", async () => {
    const cookie = await signInAdmin();
    const subject = crypto.randomUUID();
    const reqId = `req-${crypto.randomUUID()}`;
    // A body as if stored unredacted: display must redact again.
    await seedCall({
      portal: "assam",
      operation: "submit",
      subjectId: subject,
      requestId: reqId,
      outcome: "retry",
      httpStatus: 503,
      requestBody: JSON.stringify({ submission_id: subject, client_secret: "s3cr3t-value", note: "Bearer abcdefghijklmnop" }),
      responseBody: "Service Unavailable for 1234 5678 9012",
    });
    for (let i = 0; i < 3; i++) await seedCall({ portal: "umang", operation: "getStates", subjectId: null });

    const filtered = await browse("GET", `/console/transactions?subjectId=${subject}`, { cookie });
    expect(filtered.status).toBe(200);
    expect(filtered.text).toContain(reqId);
    expect(filtered.text).not.toContain("getStates");
    const byRequest = await browse("GET", `/console/transactions?requestId=${reqId}&outcome=failures&portal=assam`, { cookie });
    const m = /href="\/console\/transactions\/(\d+)"/.exec(byRequest.text);
    expect(m).not.toBeNull();
    expect((await browse("GET", `/console/transactions?requestId=${reqId}&outcome=ok`, { cookie })).text).not.toContain(
      `/console/transactions/${m![1]}"`,
    );

    const detail = await browse("GET", `/console/transactions/${m![1]}`, { cookie });
    expect(detail.status).toBe(200);
    expect(detail.text).toContain(subject);
    expect(detail.text).not.toContain("s3cr3t-value");
    expect(detail.text).not.toContain("abcdefghijklmnop");
    expect(detail.text).not.toContain("1234 5678 9012");
    expect(detail.text).toContain("[REDACTED]");
    expect(detail.text).toContain("[AADHAAR]");

    // An IST window in which no test records a call.
    expect((await browse("GET", "/console/transactions?from=1990-01-01T00:00&to=1990-01-02T00:00", { cookie })).text).toContain("No calls match");
    const byOperation = await browse("GET", "/console/transactions?operation=getStates", { cookie });
    expect(byOperation.text).toContain("getStates");
    expect(byOperation.text).not.toContain(reqId);
    const bad = await browse("GET", "/console/transactions?portal=nowhere", { cookie });
    expect(bad.status).toBe(400);

    // Paging: 1 per page through the JSON route, cursor moves on.
    const p1 = await call("GET", "/v1/admin/upstream-calls?portal=umang&limit=2", { admin: true });
    expect(p1.status).toBe(200);
    expect(p1.json.items).toHaveLength(2);
    expect(p1.json.nextCursor).toBeTypeOf("string");
    const p2 = await call("GET", `/v1/admin/upstream-calls?portal=umang&limit=2&cursor=${p1.json.nextCursor}`, { admin: true });
    expect(p2.json.items.length).toBeGreaterThanOrEqual(1);
    expect(p2.json.items[0].id).toBeLessThan(p1.json.items[1].id);
    const j = await call("GET", `/v1/admin/upstream-calls?subjectId=${subject}`, { admin: true });
    expect(j.json.items[0].requestBody).not.toContain("s3cr3t-value");
  });

  it("dead letters: list, inspect (redacted), with the subject's current status", async () => {
    const cookie = await signInAdmin();
    const claimId = await seedFailedClaim();
    const id = await seedDeadLetter({ type: "deliver", claimId, dispatchId: "x", authorization: "Bearer zzzzzzzzzzzz" });
    const list = await browse("GET", `/console/dead-letters?subjectId=${claimId}`, { cookie });
    expect(list.status).toBe(200);
    expect(list.text).toContain(claimId);
    expect(list.text).toContain("FAILED · DELIVERY_FAILED");
    const detail = await browse("GET", `/console/dead-letters/${encodeURIComponent(id)}`, { cookie });
    expect(detail.status).toBe(200);
    expect(detail.text).toContain("Replaying may deliver the same work twice");
    expect(detail.text).toContain('name="confirm"');
    expect(detail.text).not.toContain("zzzzzzzzzzzz");
    expect((await browse("GET", "/console/dead-letters/nope", { cookie })).status).toBe(404);
  });

  it("reconciliation: a period's counts and amounts per status, as a page and as CSV", async () => {
    const cookie = await signInAdmin();
    const period = "1999-03"; // a period no other test uses: the figures are this test's own
    await seedFailedClaim({ period, totalPaise: 30_000 });
    await seedFailedClaim({ period, totalPaise: 45_050 });
    const page = await browse("GET", `/console/reconciliation?period=${period}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain(`Claims reconciliation ${period}`);
    expect(page.text).toMatch(/<td>FAILED<\/td><td class="num">2<\/td><td class="num">₹750\.50<\/td>/);
    expect(page.text).toContain(`/console/reconciliation.csv?period=${period}`);
    const csv = await browse("GET", `/console/reconciliation.csv?period=${period}`, { cookie });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    expect(csv.headers.get("content-disposition")).toContain(`claims-${period}.csv`);
    const lines = csv.text.trim().split(/\r\n/);
    expect(lines[0]).toBe("period,status,count,total_amount");
    expect(lines).toContain(`${period},FAILED,2,750.50`);
    expect(lines).toContain(`${period},ACCEPTED,0,0.00`);
    expect(lines[lines.length - 1]).toBe(`${period},TOTAL,2,750.50`);
    expect((await browse("GET", "/console/reconciliation.csv?period=2024-13", { cookie })).status).toBe(400);
  });

  it("audit: who did what, when, before → after, filterable", async () => {
    const cookie = await signInAdmin();
    const target = crypto.randomUUID();
    await auditInsert(db(), {
      actor: "client:cl_test",
      action: "funds.pi_status_override",
      targetType: "payment_instruction",
      targetId: target,
      before: { status: "INITIATED" },
      after: { status: "FAILED" },
    }).run();
    await auditInsert(db(), { actor: "admin", action: "client.create", targetType: "client", targetId: "other" }).run();
    const page = await browse("GET", `/console/audit?action=funds.pi_status_override&targetId=${target}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain("client:cl_test");
    expect(page.text).toContain("{&quot;status&quot;:&quot;INITIATED&quot;}");
    expect(page.text).toContain("{&quot;status&quot;:&quot;FAILED&quot;}");
    expect(page.text).not.toContain("client.create");
    const byActor = await browse("GET", "/console/audit?actor=admin&action=console.sign_in", { cookie });
    expect(byActor.text).toContain("console.sign_in");
  });

  it("alerts and payments pages render", async () => {
    const cookie = await signInAdmin();
    await db()
      .insert(alerts)
      .values({
        at: now(),
        kind: "dead_letters",
        subject: "dead_letters",
        value: 3,
        threshold: 1,
        message: "3 dead letters waiting",
        delivery: "not_configured",
      })
      .run();
    const a = await browse("GET", "/console/alerts", { cookie });
    expect(a.status).toBe(200);
    expect(a.text).toContain("3 dead letters waiting");
    const p = await browse("GET", "/console/payments", { cookie });
    expect(p.status).toBe(200);
    expect(p.text).toContain("Payment instructions");
    expect(csrfOf(p.text)).toBeTypeOf("string");
    expect(env.ADMIN_API_KEY).toBeTruthy();
  });
});
