import { describe, expect, it, vi } from "vitest";
import { and, eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { call } from "../helpers/gateway";
import { claimBody, putSampleCatalogue } from "../claims/helpers";
import { claims } from "../../src/storage/schema/claims";
import { claimSubmissions } from "../../src/storage/schema/claim-submissions";
import { claimWebhooks } from "../../src/storage/schema/claim-webhooks";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { fiscalCallbacks } from "../../src/storage/schema/fiscal-callbacks";
import { auditLog } from "../../src/storage/schema/audit-log";
import { auditInsert } from "../../src/storage/audit";
import { browse, csrfOf, db, now, seedCall, seedDeadLetter, seedFailedClaim, signInAdmin } from "./helpers";

/** A client through the admin API, with every tenant (CONTRACT v3 §4). */
async function client(scopes: string[]) {
  const res = await call("POST", "/v1/admin/clients", { admin: true, body: { name: "records test", scopes, tenants: ["*"] } });
  if (res.status !== 201) throw new Error(`client: ${res.status} ${res.text}`);
  return res.json as { clientId: string; apiKey: string };
}

describe("find anything by id, and what each record's page shows", () => {
  it("a claim: found by its id; its delivery attempts, wire body hash, receipt, webhooks, audit trail and the actions its status allows", async () => {
    await putSampleCatalogue();
    const c = await client(["claims:write", "claims:read"]);
    const body = claimBody();
    const created = await call("POST", "/v1/claims", { apiKey: c.apiKey, body });
    expect(created.status).toBe(202);
    const claimId = body.claimId as string;
    const row = await vi.waitFor(
      async () => {
        const r = await db().select().from(claims).where(eq(claims.id, claimId)).get();
        if (!r || !["PENDING", "ACCEPTED"].includes(r.status)) throw new Error(`still ${r?.status}: ${JSON.stringify(r?.errors ?? null)}`);
        return r;
      },
      { timeout: 20_000, interval: 100 },
    );
    const submission = (await db().select().from(claimSubmissions).where(eq(claimSubmissions.claimId, claimId)).get())!;
    const t = now();
    await db()
      .insert(claimWebhooks)
      .values({
        id: crypto.randomUUID(),
        claimId,
        ownerId: c.clientId,
        claimStatus: row.status,
        payload: "{}",
        state: "DELIVERED",
        attempts: 1,
        nextAttemptAt: 0,
        lastHttpStatus: 204,
        createdAt: t,
        deliveredAt: t,
      })
      .run();

    const cookie = await signInAdmin();
    const found = await browse("GET", `/console/find?q=${claimId.toUpperCase()}`, { cookie });
    expect(found.status).toBe(303);
    expect(found.headers.get("location")).toBe(`/console/claims/${claimId}`);
    const page = await browse("GET", `/console/claims/${claimId}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain(submission.bodySha256);
    expect(page.text).toContain(row.receipt!);
    expect(page.text).toMatch(/<td>submit<\/td><td class="num">1<\/td><td class="ok">(pending|accepted)<\/td><td class="num">20[02]<\/td>/);
    expect(page.text).toMatch(/<td>(PENDING|ACCEPTED)<\/td><td class="ok">DELIVERED<\/td>/);
    expect(page.text).toContain(`action="/console/claims/${claimId}/refresh"`);
    expect(page.text).not.toContain(`action="/console/claims/${claimId}/replay"`);

    // The action its status allows: refresh, audited with the admin as actor.
    const refreshed = await browse("POST", `/console/claims/${claimId}/refresh`, { cookie, form: { _csrf: csrfOf(page.text) } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.text).toContain("Asked the portal");
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "claim.refresh"), eq(auditLog.targetId, claimId)))
      .all();
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toBe("admin");
    // …and the audit trail on its page shows it.
    expect((await browse("GET", `/console/claims/${claimId}`, { cookie })).text).toMatch(/<td>admin<\/td><td>claim\.refresh<\/td>/);
  });

  it("a claim that FAILED without a definite answer offers replay and resolve; the resolution is audited; a PORTAL_CONFLICT one offers neither", async () => {
    const cookie = await signInAdmin();
    const ambiguous = await seedFailedClaim();
    const dl = await seedDeadLetter({ type: "deliver", claimId: ambiguous, dispatchId: "x" });
    const page = await browse("GET", `/console/claims/${ambiguous}`, { cookie });
    expect(page.text).toContain(`action="/console/claims/${ambiguous}/replay"`);
    expect(page.text).toContain(`action="/console/claims/${ambiguous}/resolve"`);
    expect(page.text).not.toContain(`action="/console/claims/${ambiguous}/refresh"`);
    expect(page.text).toContain(`/console/dead-letters/${encodeURIComponent(dl)}`);
    const csrf = csrfOf(page.text);
    const noReason = await browse("POST", `/console/claims/${ambiguous}/resolve`, {
      cookie,
      form: { _csrf: csrf, resolution: "recorded", reason: "" },
    });
    expect(noReason.status).toBe(400);
    const bad = await browse("POST", `/console/claims/${ambiguous}/resolve`, {
      cookie,
      form: { _csrf: csrf, resolution: "whatever", reason: "ticket 7" },
    });
    expect(bad.status).toBe(400);
    const ok = await browse("POST", `/console/claims/${ambiguous}/resolve`, {
      cookie,
      form: { _csrf: csrf, resolution: "recorded", reason: "portal helpdesk ticket 7" },
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain("Resolved (PENDING)");
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "claim.resolve"), eq(auditLog.targetId, ambiguous)))
      .all();
    expect(audit).toHaveLength(1);
    expect(audit[0].after).toMatchObject({ resolution: "recorded", reason: "portal helpdesk ticket 7", status: "PENDING" });
    expect((await db().select().from(claims).where(eq(claims.id, ambiguous)).get())!.status).toBe("PENDING");

    const conflict = await seedFailedClaim({ failureCode: "PORTAL_CONFLICT" });
    const cp = await browse("GET", `/console/claims/${conflict}`, { cookie });
    expect(cp.text).not.toMatch(new RegExp(`action="/console/claims/${conflict}/(replay|resolve|refresh)"`));
    expect(cp.text).toContain("allows no operator action");
    const refused = await browse("POST", `/console/claims/${conflict}/resolve`, {
      cookie,
      form: { _csrf: csrf, resolution: "recorded", reason: "ticket 8" },
    });
    expect(refused.status).toBe(409);
    const replay = await browse("POST", `/console/claims/${conflict}/replay`, { cookie, form: { _csrf: csrf, confirm: "yes" } });
    expect(replay.status).toBe(409);
    expect((await db().select().from(claims).where(eq(claims.id, conflict)).get())!.status).toBe("FAILED");
  });

  it("a fiscal message: found by id, with the callbacks that answered it and never its signed body", async () => {
    const id = crypto.randomUUID();
    const t = now();
    await db()
      .insert(fiscalMessages)
      .values({
        id,
        ownerId: "admin",
        type: "sanction",
        action: "create",
        transactionId: `TXN-${id.slice(0, 8)}`,
        status: "APPROVED",
        deliveryStatus: "DELIVERED",
        attempts: 1,
        wireBody: "SEALED-BODY-SHOULD-NOT-SHOW",
        createdAt: t,
        updatedAt: t,
      })
      .run();
    await db()
      .insert(fiscalCallbacks)
      .values({
        senderId: "ifix@sandbox",
        messageId: crypto.randomUUID(),
        contentHash: crypto.randomUUID(),
        type: "on-sanction",
        targetMessageId: id,
        matchedBy: "transaction_id",
        statusCode: "APPROVED",
        statusMessage: "sanction approved",
        answer: {},
        receivedAt: t,
      })
      .run();
    const cookie = await signInAdmin();
    const found = await browse("GET", `/console/find?q=${id}`, { cookie });
    expect(found.headers.get("location")).toBe(`/console/fiscal-messages/${id}`);
    const page = await browse("GET", `/console/fiscal-messages/${id}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain("sanction approved");
    expect(page.text).toContain("transaction_id");
    expect(page.text).not.toContain("SEALED-BODY-SHOULD-NOT-SHOW");
  });

  it("a payment instruction: found by its PI id or payment id, with its log from its account", async () => {
    const funds = await client(["funds:write", "funds:read"]);
    const tenantId = `pb.t${crypto.randomUUID().slice(0, 8)}`;
    const allot = await call("POST", "/v1/funds/allotments", {
      apiKey: funds.apiKey,
      body: { txnId: `VA-${crypto.randomUUID()}`, tenantId, headOfAccount: "2210-01", ssuCode: "SSU1", type: "INITIAL_ALLOTMENT", amount: 1000 },
    });
    expect(allot.status).toBe(201);
    const paymentId = `P-${crypto.randomUUID()}`;
    const pi = await call("POST", "/v1/payment-instructions", {
      apiKey: funds.apiKey,
      body: {
        paymentId,
        tenantId,
        headOfAccount: "2210-01",
        ssuCode: "SSU1",
        amount: 250,
        beneficiaries: [{ name: "Secret Name Person", accountCode: "ACC-SECRET-1", amount: 250 }],
      },
    });
    expect(pi.status).toBe(201);
    const cookie = await signInAdmin();
    // Found through D1's projection, which the account's object writes moments after the PI (its alarm).
    await vi.waitFor(
      async () => {
        const byPayment = await browse("GET", `/console/find?q=${paymentId}`, { cookie });
        expect(byPayment.headers.get("location")).toBe(`/console/payment-instructions/${encodeURIComponent(pi.json.piId)}`);
      },
      { timeout: 10_000, interval: 100 },
    );
    const page = await browse("GET", `/console/payment-instructions/${encodeURIComponent(pi.json.piId)}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain("₹250.00");
    // Its log, read from its account's Durable Object: created as INITIATED.
    expect(page.text).toMatch(/<td>system<\/td><td>– → INITIATED<\/td>|<td>api<\/td><td>– → INITIATED<\/td>/);
    expect(page.text).not.toContain("Secret Name Person");
    expect(page.text).not.toContain("ACC-SECRET-1");
  });

  it("a request id: every upstream call it made and every audit row it wrote", async () => {
    const requestId = `req-${crypto.randomUUID()}`;
    const subject = crypto.randomUUID();
    await seedCall({ portal: "assam", operation: "submit", requestId, subjectId: subject, outcome: "retry", httpStatus: 503 });
    await seedCall({ portal: "assam", operation: "token", requestId, outcome: "ok", httpStatus: 200 });
    await auditInsert(db(), { actor: "client:cl_x", action: "claim.replay", targetType: "claim", targetId: subject, requestId }).run();
    const cookie = await signInAdmin();
    const found = await browse("GET", `/console/find?q=${requestId}`, { cookie });
    expect(found.headers.get("location")).toBe(`/console/requests/${requestId}`);
    const page = await browse("GET", `/console/requests/${requestId}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text.match(/<td>assam<\/td>/g)).toHaveLength(2);
    expect(page.text).toContain("<td>token</td>");
    expect(page.text).toContain("claim.replay");
  });

  it("an id nobody has: a 404 page that says what ids look like; junk is no query at all", async () => {
    const cookie = await signInAdmin();
    const none = await browse("GET", `/console/find?q=${crypto.randomUUID()}`, { cookie });
    expect(none.status).toBe(404);
    expect(none.text).toContain("Nothing has the id");
    const junk = await browse("GET", `/console/find?q=${encodeURIComponent("<script>alert(1)</script>")}`, { cookie });
    expect(junk.status).toBe(404);
    expect(junk.text).not.toContain("<script>alert(1)</script>");
    for (const path of ["/console/claims/nope", "/console/fiscal-messages/nope", "/console/payment-instructions/nope", "/console/requests/nope"]) {
      expect((await browse("GET", path, { cookie })).status, path).toBe(404);
    }
    expect(env.ADMIN_API_KEY).toBeTruthy();
  });
});
