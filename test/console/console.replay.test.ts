import { afterEach, describe, expect, it, vi } from "vitest";
import { and, eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { call, createClient, tokenFor } from "../helpers/gateway";
import { clearFaults, setFaults } from "../helpers/sandbox";
import { browse, csrfOf, db, now, seedDeadLetter, seedFailedClaim, signInAdmin } from "./helpers";
import { claims } from "../../src/storage/schema/claims";
import { deadLetters } from "../../src/storage/schema/dead-letters";
import { auditLog } from "../../src/storage/schema/audit-log";
import { fiscalMessages } from "../../src/storage/schema/fiscal-messages";
import { fiscalOutbox } from "../../src/storage/schema/fiscal-outbox";
import { paymentInstructions } from "../../src/storage/schema/payment-instructions";

afterEach(async () => {
  await clearFaults();
});

const deadLetterRow = async (id: string) => (await db().select().from(deadLetters).where(eq(deadLetters.id, id)).get())!;
const auditFor = (action: string, targetId: string) =>
  db()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, action), eq(auditLog.targetId, targetId)))
    .all();

describe("replaying dead letters", () => {
  it("through the JSON API: a FAILED claim goes back to QUEUED, the replay is counted and audited; again → 409", async () => {
    // Keep the portal failing so the re-queued delivery cannot race the assertions into ACCEPTED.
    await setFaults("assam", { errorRate: 1 });
    const claimId = await seedFailedClaim();
    const id = await seedDeadLetter({ type: "deliver", claimId, dispatchId: "old" });
    const ops = await createClient(["ops"], "ops replayer");

    const res = await call("POST", `/v1/admin/dead-letters/${encodeURIComponent(id)}/replay`, { token: ops.token });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id, ok: true, subjectType: "claim", subjectId: claimId, outcome: "QUEUED", replayCount: 1 });
    const claim = await db().select().from(claims).where(eq(claims.id, claimId)).get();
    expect(claim!.status).not.toBe("FAILED");
    expect(claim!.dispatchId).not.toBe("old");
    const dl = await deadLetterRow(id);
    expect(dl.replayCount).toBe(1);
    expect(dl.replayedAt).not.toBeNull();
    const audit = await auditFor("dead_letter.replay", id);
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toBe(`client:${ops.clientId}`);
    expect(audit[0].before).toMatchObject({ replayCount: 0 });
    expect(audit[0].after).toMatchObject({ replayCount: 1 });
    expect(await auditFor("claim.replay", claimId)).toHaveLength(1);

    // The claim is no longer FAILED: a second replay would duplicate it and is refused.
    const again = await call("POST", `/v1/admin/dead-letters/${encodeURIComponent(id)}/replay`, { admin: true });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("INVALID_STATE");
    expect((await deadLetterRow(id)).replayCount).toBe(1);

    const listed = await call("GET", `/v1/admin/dead-letters?subjectId=${claimId}&state=all`, { admin: true });
    expect(listed.json.items[0]).toMatchObject({ id, replayCount: 1, subject: { type: "claim" } });
  });

  it("refuses a claim that failed on the portal's 409, and a kind without a replay rule", async () => {
    const claimId = await seedFailedClaim({ failureCode: "PORTAL_CONFLICT" });
    const id = await seedDeadLetter({ type: "deliver", claimId, dispatchId: "d" });
    const res = await call("POST", `/v1/admin/dead-letters/${encodeURIComponent(id)}/replay`, { admin: true });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe("PORTAL_CONFLICT");
    expect((await db().select().from(claims).where(eq(claims.id, claimId)).get())!.status).toBe("FAILED");
    expect((await deadLetterRow(id)).replayCount).toBe(0);

    const other = await seedDeadLetter({ type: "mystery" }, { queue: "amrit-webhooks" });
    const r2 = await call("POST", `/v1/admin/dead-letters/${encodeURIComponent(other)}/replay`, { admin: true });
    expect(r2.status).toBe(422);
    expect((await call("POST", "/v1/admin/dead-letters/none/replay", { admin: true })).status).toBe(404);
  });

  it("through the page: the confirmation is required, then the replay is recorded", async () => {
    await setFaults("assam", { errorRate: 1 });
    const cookie = await signInAdmin();
    const claimId = await seedFailedClaim();
    const id = await seedDeadLetter({ type: "deliver", claimId, dispatchId: "old" });
    const detail = await browse("GET", `/console/dead-letters/${encodeURIComponent(id)}`, { cookie });
    const csrf = csrfOf(detail.text);

    const unconfirmed = await browse("POST", `/console/dead-letters/${encodeURIComponent(id)}/replay`, { cookie, form: { _csrf: csrf } });
    expect(unconfirmed.status).toBe(422);
    expect((await deadLetterRow(id)).replayCount).toBe(0);
    const noCsrf = await browse("POST", `/console/dead-letters/${encodeURIComponent(id)}/replay`, { cookie, form: { confirm: "yes" } });
    expect(noCsrf.status).toBe(403);
    expect((await deadLetterRow(id)).replayCount).toBe(0);

    const done = await browse("POST", `/console/dead-letters/${encodeURIComponent(id)}/replay`, { cookie, form: { _csrf: csrf, confirm: "yes" } });
    expect(done.status).toBe(200);
    expect(done.text).toContain("Replayed: claim");
    expect((await deadLetterRow(id)).replayCount).toBe(1);
    expect(await auditFor("dead_letter.replay", id)).toHaveLength(1);
    expect((await auditFor("dead_letter.replay", id))[0].actor).toBe("admin");

    const twice = await browse("POST", `/console/dead-letters/${encodeURIComponent(id)}/replay`, { cookie, form: { _csrf: csrf, confirm: "yes" } });
    expect(twice.status).toBe(409);
    expect(twice.text).toContain("Not replayed");
  });

  it("a filtered set: a dry run counts, the page asks to confirm, then each goes through its own rule", async () => {
    await setFaults("assam", { errorRate: 1 });
    const kind = `deliver`;
    const reason = `batch-${crypto.randomUUID()}`;
    const a = await seedFailedClaim();
    const b = await seedFailedClaim({ failureCode: "PORTAL_CONFLICT" });
    const from = new Date(Date.now() - 1000).toISOString();
    const ida = await seedDeadLetter({ type: kind, claimId: a, dispatchId: "x" }, { reason });
    const idb = await seedDeadLetter({ type: kind, claimId: b, dispatchId: "x" }, { reason });

    const dry = await call("POST", "/v1/admin/dead-letters/replay", { admin: true, body: { filter: { kind, from } } });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ confirmed: false, replayed: 0 });
    expect(dry.json.matched).toBeGreaterThanOrEqual(2);
    expect((await deadLetterRow(ida)).replayCount).toBe(0);
    expect((await call("POST", "/v1/admin/dead-letters/replay", { admin: true, body: { filter: { nope: 1 } } })).status).toBe(400);

    // The page: first POST shows the confirmation with the count and the duplicate warning.
    const cookie = await signInAdmin();
    const csrf = csrfOf((await browse("GET", "/console/dead-letters", { cookie })).text);
    const ask = await browse("POST", "/console/dead-letters/replay", { cookie, form: { _csrf: csrf, subjectId: a } });
    expect(ask.status).toBe(200);
    expect(ask.text).toContain("Replaying may deliver the same work twice");
    expect(ask.text).toMatch(/selects <strong>1<\/strong> dead letter/);
    expect((await deadLetterRow(ida)).replayCount).toBe(0);

    const run = await call("POST", "/v1/admin/dead-letters/replay", { admin: true, body: { filter: { kind, from }, confirm: true } });
    expect(run.status).toBe(200);
    const byId = Object.fromEntries(run.json.results.map((r: any) => [r.id, r]));
    expect(byId[ida]).toMatchObject({ ok: true, outcome: "QUEUED" });
    expect(byId[idb]).toMatchObject({ ok: false, outcome: "PORTAL_CONFLICT" });
    expect((await deadLetterRow(ida)).replayCount).toBe(1);
    expect((await deadLetterRow(idb)).replayCount).toBe(0);
  });

  it("a fiscal message: delivery FAILED → QUEUED again with its stored bytes; REJECTED is refused", async () => {
    await setFaults("ifix", { errorRate: 1 });
    const mk = async (deliveryStatus: "FAILED" | "REJECTED") => {
      const id = crypto.randomUUID();
      const t = now();
      await db()
        .insert(fiscalMessages)
        .values({
          id,
          ownerId: "admin",
          type: "program",
          action: "create",
          status: deliveryStatus === "FAILED" ? "FAILED" : "REJECTED",
          deliveryStatus,
          attempts: 3,
          wireBody: "sealed",
          createdAt: t,
          updatedAt: t,
          lastError: "503",
        })
        .run();
      return id;
    };
    const failed = await mk("FAILED");
    const dl = await seedDeadLetter({ type: "fiscal.deliver", messageId: failed }, { queue: "amrit-fiscal-delivery" });
    const res = await call("POST", `/v1/admin/dead-letters/${encodeURIComponent(dl)}/replay`, { admin: true });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ok: true, subjectType: "fiscal_message", subjectId: failed });
    const msg = (await db().select().from(fiscalMessages).where(eq(fiscalMessages.id, failed)).get())!;
    // iFIX keeps failing: the consumer may already be retrying, but the message stays QUEUED with an outbox row.
    expect(msg.status).toBe("QUEUED");
    expect(msg.deliveryStatus).toBe("QUEUED");
    expect(await db().select().from(fiscalOutbox).where(eq(fiscalOutbox.messageId, failed)).get()).toBeDefined();
    expect(await auditFor("fiscal.replay", failed)).toHaveLength(1);
    expect((await deadLetterRow(dl)).replayCount).toBe(1);

    // Replayed: no longer open. Should the message fail again, its dead letter (same id) is open again.
    const openIds = async () => (await call("GET", `/v1/admin/dead-letters?subjectId=${failed}`, { admin: true })).json.items.map((i: any) => i.id);
    expect(await openIds()).toEqual([]);
    const later = new Date(Date.now() + 60_000).toISOString();
    await db()
      .update(fiscalMessages)
      .set({ deliveryStatus: "FAILED", status: "FAILED", updatedAt: later })
      .where(eq(fiscalMessages.id, failed))
      .run();
    await db().delete(fiscalOutbox).where(eq(fiscalOutbox.messageId, failed)).run();
    expect(await openIds()).toEqual([dl]);
    const again = await call("POST", `/v1/admin/dead-letters/${encodeURIComponent(dl)}/replay`, { admin: true });
    expect(again.status).toBe(200);
    expect(again.json.replayCount).toBe(2);

    const rejected = await mk("REJECTED");
    const dl2 = await seedDeadLetter({ type: "fiscal.deliver", messageId: rejected }, { queue: "amrit-fiscal-delivery" });
    const r2 = await call("POST", `/v1/admin/dead-letters/${encodeURIComponent(dl2)}/replay`, { admin: true });
    expect(r2.status).toBe(409);
    expect(await db().select().from(fiscalOutbox).where(eq(fiscalOutbox.messageId, rejected)).get()).toBeUndefined();
  });
});

describe("payment instructions stuck after an ambiguous delivery", () => {
  it("are listed, and an operator's FAILED releases the funds once, audited", async () => {
    await setFaults("ifix", { errorRate: 1 });
    const tenantId = `pb.t${crypto.randomUUID().slice(0, 8)}`;
    // Every tenant (CONTRACT v3 §4: a client without tenants touches no funds).
    const made = await call("POST", "/v1/admin/clients", {
      admin: true,
      body: { name: "treasury", scopes: ["funds:write", "funds:read"], tenants: ["*"] },
    });
    const funds = { ...made.json, token: await tokenFor(made.json.clientId, made.json.clientSecret) };
    const allot = await call("POST", "/v1/funds/allotments", {
      token: funds.token,
      body: { txnId: `VA-${crypto.randomUUID()}`, tenantId, headOfAccount: "2210-01", ssuCode: "SSU1", type: "INITIAL_ALLOTMENT", amount: 1000 },
    });
    expect(allot.status).toBe(201);
    const pi = await call("POST", "/v1/payment-instructions", {
      token: funds.token,
      body: {
        paymentId: `P-${crypto.randomUUID()}`,
        tenantId,
        headOfAccount: "2210-01",
        ssuCode: "SSU1",
        amount: 400,
        beneficiaries: [{ name: "A Person", accountCode: "ACC1", amount: 400 }],
      },
    });
    expect(pi.status).toBe(201);
    const piId = pi.json.piId as string;
    // iFIX answers every post with a 5xx: the disburse (in the account object's outbox) cannot be
    // delivered, so the PI stays committed and shows up as stuck once its projection lands in D1.
    const cookie = await signInAdmin();
    const page = await vi.waitFor(
      async () => {
        // Its own tenant's stuck PIs: other files' stuck PIs share the database and fill the first 100.
        const p = await browse("GET", `/console/payments?tenant=${encodeURIComponent(tenantId)}`, { cookie });
        expect(p.status).toBe(200);
        if (!p.text.includes(piId)) {
          // Say where the PI is when it is not listed: its projection row and its disburse's delivery.
          const row = await db().select().from(paymentInstructions).where(eq(paymentInstructions.piId, piId)).get();
          const msg = row?.messageId ? await db().select().from(fiscalMessages).where(eq(fiscalMessages.id, row.messageId)).get() : undefined;
          throw new Error(
            `not listed as stuck: PI ${row ? row.status : "not projected"}, disburse ${msg ? `${msg.deliveryStatus}/${msg.status}, ${msg.attempts} attempts, ${msg.lastError}` : "not in D1"}`,
          );
        }
        return p;
      },
      // Every attempt of the disburse must fail first (the queue's retries, then its dead letter),
      // and the account's projection land: seconds on a quiet machine, more under load.
      { timeout: 45_000, interval: 200 },
    );
    expect(page.text).toContain("₹400.00");
    // The tenant filter shows that tenant's PIs only (others of this file's form are left out).
    expect([...page.text.matchAll(/pb\.t[0-9a-f]{8}/g)].every((m) => m[0] === tenantId)).toBe(true);
    const csrf = csrfOf(page.text);
    const summary = async () => (await call("GET", `/v1/funds/summary?tenantId=${tenantId}`, { token: funds.token })).json.items[0];
    expect((await summary()).available).toBe(600);

    const noReason = await browse("POST", `/console/payments/${piId}/status`, { cookie, form: { _csrf: csrf, status: "FAILED", reason: "" } });
    expect(noReason.status).toBe(400);
    expect((await summary()).available).toBe(600);
    expect((await browse("POST", `/console/payments/${piId}/status`, { cookie, form: { status: "FAILED", reason: "IFMS: not paid" } })).status).toBe(
      403,
    );

    const set = await browse("POST", `/console/payments/${piId}/status`, {
      cookie,
      form: { _csrf: csrf, status: "FAILED", reason: "IFMS confirms not paid" },
    });
    expect(set.status).toBe(200);
    expect(set.text).toContain(`${piId}: INITIATED → FAILED`);
    // The release reaches D1 with the account's next projection (at once for a person's call).
    await vi.waitFor(async () => expect((await summary()).available).toBe(1000), { timeout: 10_000, interval: 100 });
    const again = await browse("POST", `/console/payments/${piId}/status`, { cookie, form: { _csrf: csrf, status: "FAILED", reason: "twice" } });
    expect([200, 409]).toContain(again.status);
    expect((await summary()).available).toBe(1000);
    const audit = await auditFor("funds.pi_status_override", piId);
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(audit[0].actor).toBe("admin");
    expect(audit[0].after).toMatchObject({ requested: "FAILED", reason: "IFMS confirms not paid" });
    expect(env.ADMIN_API_KEY).toBeTruthy();
  }, 60_000);
});
