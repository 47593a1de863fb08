/// <reference types="vite/client" />
import { describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { SEED_REQUESTS } from "../../src/sandbox/umang/seed-requests";
import { isAadhaarNumber, passesVerhoeff } from "../../src/sandbox/umang/verhoeff";
import { isValidAadhaar } from "../../src/domain/health/verhoeff";
import { health, newUser, otpFor, sandboxStats, umang, umangDirect, umangEnvelope } from "./helpers";
import { clearFaults, sandbox, setFaults } from "../helpers/sandbox";

/**
 * Issue 15 item 10: the UMANG sandbox follows seed 001, not the adapter. It takes the seed's own
 * request examples, refuses what the seed does not show (the gateway's old `filter: "ALL"` among
 * them), and shares no code with the gateway (its own Verhoeff check, ids, hashing).
 */

let trkr = 0;

/** Posts an op straight to the sandbox, as UMANG's own client would. */
const direct = (op: string, fields: Record<string, unknown>) => umangDirect(op, umangEnvelope("t", "u", `sbx-test-${Date.now()}-${trkr++}`), fields);
const refusedForShape = (a: { rs: string; pd: unknown }) => a.rs === "F" && typeof a.pd === "string" && a.pd.includes("Invalid request:");

describe("the UMANG sandbox follows seed 001", () => {
  it("takes every request example of the seed as it stands (field names and JSON types)", async () => {
    const before = (await sandboxStats()).seedRejected;
    for (const [key, forms] of Object.entries(SEED_REQUESTS)) {
      const op = key.replace(/#2$/, "");
      for (const form of forms) {
        const answer = await direct(op, form);
        expect(refusedForShape(answer), `${key}: ${JSON.stringify(answer.pd)}`).toBe(false);
      }
    }
    expect((await sandboxStats()).seedRejected).toBe(before);
  });

  it('refuses what the seed does not show: the gateway\'s old filter "ALL", unknown fields, wrong JSON types', async () => {
    const u = await newUser();
    const xAuthToken = `Bearer ${u.token}`;
    expect((await direct("subscriptionRequests", { limit: "10", offset: "0", filter: "status", xAuthToken })).rs).toBe("S");
    const all = await direct("subscriptionRequests", { limit: "10", offset: "0", filter: "ALL", xAuthToken });
    expect(all).toMatchObject({ rs: "F", rc: "400" });
    expect(all.pd).toContain("Invalid filter");
    for (const [op, fields, why] of [
      ["listAuthorizationRequests", { limit: 10, offset: "0", filter: "status", xAuthToken }, "limit must be a string"],
      ["myProfile", { xAuthToken, extra: 1 }, "extra is not a field of myProfile"],
      [
        "approveAuthorizationRequests",
        { requestId: crypto.randomUUID(), generatePerpetualToken: true, xAuthToken },
        "generatePerpetualToken must be a string",
      ],
      ["bridgeServices", { id: "X", name: "n", type: "HIP", active: "true", alias: [], authorization: "a" }, "active must be a boolean"],
      [
        "linkEnquiry",
        { requestId: crypto.randomUUID(), transactionId: "t", patient: { referenceNumber: "1", careContexts: [{ ref: "2" }] }, xAuthToken },
        "patient.careContexts[0].ref is not a field",
      ],
      [
        "approveLockerRequests",
        {
          autoApproval: {
            isApplicableForAllHIPs: "true",
            hiu: { id: "h" },
            includedSources: [{ hiTypes: ["Prescription"], categories: ["LINK"] }],
            excludedSources: [],
          },
          xAuthToken,
        },
        "categories is not a field",
      ],
      ["patientAuthInit", { authMethod: "MOBILE_OTP" }, "healthid is required"],
    ] as const) {
      const answer = await direct(op, fields);
      expect(refusedForShape(answer), `${op}: ${JSON.stringify(answer)}`).toBe(true);
      expect(answer.pd).toContain(why);
    }
  });

  it("takes authenticationConfirm's authCode as the seed's number too", async () => {
    const u = await newUser();
    const init = await health("POST", "/v1/health/users/auth/init", {
      bridge: true,
      body: { patientId: u.id, purpose: "KYC_AND_LINK", authMode: "MOBILE_OTP", requester: { type: "HIU", id: "IN0400XX" } },
    });
    expect(init.status).toBe(200);
    const otp = await otpFor(init.json.transactionId);
    const session = (await env.TOKEN_CACHE.get<{ token: string }>("upstream-token:umang", "json"))!.token;
    const answer = await direct("authenticationConfirm", {
      transactionId: init.json.transactionId,
      authCode: Number(otp),
      requesterId: "IN0400XX",
      authorization: session,
    });
    expect(answer).toMatchObject({ rs: "S", pd: { patient: { id: u.id } } });
  });

  it("checks Aadhaar numbers with its own Verhoeff implementation, which agrees with the gateway's", () => {
    expect(passesVerhoeff("2363")).toBe(true);
    expect(isAadhaarNumber("694704838997")).toBe(true);
    expect(isAadhaarNumber("4996 1234 5671")).toBe(true);
    for (const bad of ["694704838998", "094704838997", "69470483899", "6947048389970", "69470483899x"]) expect(isAadhaarNumber(bad)).toBe(false);
    // Two implementations written apart must agree on every number tried.
    let n = 1234567;
    for (let i = 0; i < 3000; i++) {
      n = (n * 1103515245 + 12345) % 2 ** 31;
      const candidate = String(200000000000 + (n % 800000000000));
      expect(isAadhaarNumber(candidate), candidate).toBe(isValidAadhaar(candidate));
    }
  });

  it("imports nothing from the gateway's domain or adapters", () => {
    // Every portal of the sandbox (Assam, UMANG, iFIX, Access) and its host: written from the seeds.
    const sources = import.meta.glob(["../../src/sandbox/**/*.ts"], {
      query: "?raw",
      import: "default",
      eager: true,
    }) as Record<string, string>;
    expect(Object.keys(sources).length).toBeGreaterThan(10);
    for (const [file, text] of Object.entries(sources)) {
      const imports = [...text.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]);
      expect(
        imports.filter((i) => /\/(domain|adapters)\//.test(i)),
        file,
      ).toEqual([]);
    }
  });
});

describe("the sandbox host", () => {
  it("drops a request a slow fault still holds when its portal is reset: the new portal never counts it", async () => {
    await umang("POST", "/__sandbox/reset");
    await clearFaults();
    await setFaults("umang", { slowRate: 1, slowMs: 300, pathPattern: "/session$" });
    try {
      const held = direct("session", { clientId: env.UMANG_CLIENT_ID, clientSecret: env.UMANG_CLIENT_SECRET }).then(
        () => "answered",
        () => "dropped",
      );
      // Once the fault holds it, the portal is reset.
      await vi.waitFor(async () => expect((await sandbox("GET", "/__sandbox/faults")).json.umang.injected.slow).toBe(1), {
        timeout: 2_000,
        interval: 20,
      });
      await umang("POST", "/__sandbox/reset");
      expect(await held).toBe("dropped");
      expect((await sandboxStats()).sessionCalls).toBe(0);
      // Without a reset in between, the held call is answered and counted.
      expect((await direct("session", { clientId: env.UMANG_CLIENT_ID, clientSecret: env.UMANG_CLIENT_SECRET })).rs).toBe("S");
      expect((await sandboxStats()).sessionCalls).toBe(1);
    } finally {
      await clearFaults();
      await umang("POST", "/__sandbox/reset");
    }
  });
});
