import { afterEach, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { call, createClient, expectError } from "../helpers/gateway";
import { clearFaults, setFaults } from "../helpers/sandbox";
import { callsOf as recordedCalls, healthClient, health, newUser, sandboxStats, umang } from "./helpers";
import { createApp } from "../../src/http/app";
import type { Env } from "../../src/env";
import { sendOp } from "../../src/adapters/umang/client";
import type { UpstreamCallReport } from "../../src/adapters/recorder";

/** CONTRACT §6 error mapping, the user's token header, and what never leaves on bad input. */

afterEach(async () => {
  await clearFaults();
  await umang("PUT", "/__sandbox/config", { internalError: [], pe004: [] });
});

const callsOf = async (op: string) => (await sandboxStats()).calls[op] ?? 0;

describe("the user's token (X-Health-Token)", () => {
  it("a route that needs it and has none answers 401 UNAUTHORIZED and sends nothing", async () => {
    const before = await callsOf("myProfile");
    for (const [method, path, body] of [
      ["GET", "/v1/health/profile", undefined],
      ["POST", "/v1/health/pin", { pin: "1234" }],
      ["PUT", "/v1/health/pin", { pin: "1234" }],
      ["GET", "/v1/health/lockers/driefcasehl", undefined],
      ["POST", "/v1/health/aadhaar/otp", { aadhaar: "499612345671" }],
    ] as const) {
      const e = expectError(await health(method, path, { body }), 401, "UNAUTHORIZED");
      expect(e.message).toContain("X-Health-Token");
    }
    expectError(await health("GET", "/v1/health/profile", { healthToken: "" }), 401, "UNAUTHORIZED");
    expectError(await health("GET", "/v1/health/profile", { healthToken: "Bearer " }), 401, "UNAUTHORIZED");
    expectError(await health("GET", "/v1/health/profile", { healthToken: "two words" }), 401, "UNAUTHORIZED");
    expect(await callsOf("myProfile")).toBe(before);
  });

  it("routes that need no user token work without it; the caller's own credentials and scope still apply", async () => {
    expect((await health("GET", "/v1/health/states")).status).toBe(200);
    expectError(await call("GET", "/v1/health/states"), 401, "UNAUTHORIZED");
    const other = await createClient(["claims:read"]);
    expectError(await call("GET", "/v1/health/states", { token: other.token }), 403, "FORBIDDEN");
    const viaKey = await call("GET", "/v1/health/states", { apiKey: (await healthClient()).apiKey });
    expect(viaKey.status).toBe(200);
  });
});

describe('rs:"F" failures: the status inside pd decides', () => {
  it("401 → 401 UPSTREAM_UNAUTHORIZED (the user's token was refused)", async () => {
    const e = expectError(await health("GET", "/v1/health/profile", { healthToken: "not-a-token-the-portal-knows" }), 401, "UPSTREAM_UNAUTHORIZED");
    expect(e.details).toEqual([{ status: 401, code: null, message: "Unauthorized" }]);
  });

  it("403 → 403 UPSTREAM_FORBIDDEN", async () => {
    const u = await newUser();
    const e = expectError(
      await health("POST", "/v1/health/users/auth/init", {
        bridge: true,
        body: { patientId: u.id, purpose: "CM_ACCESS", authMode: "MOBILE_OTP", requester: { type: "PHR", id: "IN0400XX" } },
      }),
      403,
      "UPSTREAM_FORBIDDEN",
    );
    expect(e.details).toEqual([{ status: 403, code: 1401, message: "Token with invalid access role" }]);
  });

  it("404 → 404 UPSTREAM_NOT_FOUND", async () => {
    const u = await newUser();
    const e = expectError(await health("GET", "/v1/health/lockers/10000002", { healthToken: u.token }), 404, "UPSTREAM_NOT_FOUND");
    expect(e.details).toEqual([{ status: 404, code: 1417, message: "Cannot find locker setup for user" }]);
    expect(e.message).toContain("Cannot find locker setup for user");
  });

  it("409 → 409 UPSTREAM_CONFLICT", async () => {
    const u = await newUser();
    const e = expectError(
      await health("POST", "/v1/health/authorization-requests/deny", {
        healthToken: u.token,
        body: { requestId: "2a3319a9-de1e-45eb-acf1-b29a8ff3541b" },
      }),
      409,
      "UPSTREAM_CONFLICT",
    );
    expect(e.details).toEqual([{ status: 409, code: 1411, message: "Authorization request is not in REQUESTED state" }]);
  });

  it("anything else (400) → 422 UPSTREAM_REJECTED", async () => {
    const u = await newUser();
    expect((await health("POST", "/v1/health/pin", { healthToken: u.token, body: { pin: "9876" } })).status).toBe(200);
    const e = expectError(await health("POST", "/v1/health/pin", { healthToken: u.token, body: { pin: "9876" } }), 422, "UPSTREAM_REJECTED");
    expect(e.details).toEqual([{ status: 400, code: 1424, message: "Transaction pin is already created" }]);
  });
});

describe("UMANG's own failures, broken answers and timeouts", () => {
  it("PE004 ({rs:F, rc:PE004, pd:null}) → 502 UPSTREAM_UNAVAILABLE saying only its code; rc and rd go to the log (issue 15 item 11)", async () => {
    await umang("PUT", "/__sandbox/config", { pe004: ["getStates"] });
    const lines: string[] = [];
    const spy = vi.spyOn(console, "warn").mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      const r = await health("GET", "/v1/health/states");
      const e = expectError(r, 502, "UPSTREAM_UNAVAILABLE");
      // CONTRACT §3: a 5xx carries no upstream text, in its message or its details.
      expect(e.details).toEqual([]);
      expect(r.text).not.toMatch(/PE004|Sorry|unable to process/);
      const logged = lines
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === "umang call" && l.operation === "getStates" && l.requestId === e.requestId);
      expect(logged).toMatchObject({ outcome: "failed", errorCode: "UPSTREAM_UNAVAILABLE", rc: "PE004", rd: expect.stringContaining("Sorry") });
    } finally {
      spy.mockRestore();
    }
  });

  it('a plain-text "Internal Server Error" (HTTP 500, as the seed shows for bridgeServices) → 502 UPSTREAM_UNAVAILABLE', async () => {
    await umang("PUT", "/__sandbox/config", { internalError: ["bridgeServices"] });
    expectError(
      await health("PUT", "/v1/health/bridge-services/SBX_HIP", { bridge: true, body: { name: "AMRIT", type: "HIP" } }),
      502,
      "UPSTREAM_UNAVAILABLE",
    );
  });

  it("5xx from fault injection → 502; dropped connections → 502; no details in either", async () => {
    await setFaults("umang", { errorRate: 1, pathPattern: "getStates" });
    expect(expectError(await health("GET", "/v1/health/states"), 502, "UPSTREAM_UNAVAILABLE").details).toEqual([]);
    await setFaults("umang", { dropRate: 1, pathPattern: "getStates" });
    expect(expectError(await health("GET", "/v1/health/states"), 502, "UPSTREAM_UNAVAILABLE").details).toEqual([]);
  });

  it("a 429 from UMANG → 503 UPSTREAM_RATE_LIMITED with UMANG's wait as Retry-After (issue 15 item 12)", async () => {
    await setFaults("umang", { rate429: 1, retryAfterSeconds: 7, pathPattern: "getStates" });
    const r = await health("GET", "/v1/health/states");
    const e = expectError(r, 503, "UPSTREAM_RATE_LIMITED");
    expect(r.headers.get("retry-after")).toBe("7");
    expect(e.details).toEqual([]);
    // The caller's own limit stays 429 RATE_LIMITED: this one is the gateway's, shared by every caller.
    await setFaults("umang", { rate429: 1, retryAfterSeconds: 0, pathPattern: "getStates" });
    expect((await health("GET", "/v1/health/states")).headers.get("retry-after")).toBe("1");
  });

  it("no answer within UPSTREAM_TIMEOUT_MS (2000 in tests) → 504 UPSTREAM_TIMEOUT", async () => {
    await setFaults("umang", { slowRate: 1, slowMs: 2600, pathPattern: "getDistrict" });
    const e = expectError(await health("GET", "/v1/health/states/10/districts"), 504, "UPSTREAM_TIMEOUT");
    expect(e.message).toContain("2000");
  });

  it("a refused UMANG API bearer (the API manager's own 401) → 502; missing configuration → 503 naming it", async () => {
    const { token } = await healthClient();
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const app = createApp();
    const req = () => new Request("http://gw/v1/health/states", { headers: { Authorization: `Bearer ${token}` } });
    const wrong = await app.fetch(req(), { ...env, UMANG_API_TOKEN: "not-the-token" } as unknown as Env, ctx);
    expect(wrong.status).toBe(502);
    expect(((await wrong.json()) as any).error.code).toBe("UPSTREAM_UNAVAILABLE");
    const missing = await app.fetch(req(), { ...env, UMANG_TKN: undefined } as unknown as Env, ctx);
    expect(missing.status).toBe(503);
    const body = (await missing.json()) as any;
    expect(body.error.code).toBe("CONFIG_INVALID");
    expect(body.error.message).toContain("UMANG_TKN");
  });
});

describe("the envelope comes from configuration", () => {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const states = async (overrides: Record<string, string>) => {
    const { token } = await healthClient();
    return createApp().fetch(
      new Request("http://gw/v1/health/states", { headers: { Authorization: `Bearer ${token}` } }),
      { ...env, ...overrides } as unknown as Env,
      ctx,
    );
  };

  it("tkn, usrid, mode and pltfrm are the configured ones", async () => {
    const res = await states({ UMANG_TKN: "tkn-from-config", UMANG_USER_ID: "user-42", UMANG_MODE: "app", UMANG_PLATFORM: "android" });
    expect(res.status).toBe(200);
    // Its own call: the only getStates with these values.
    const mine = (await recordedCalls("getStates")).filter((c) => c.body.usrid === "user-42");
    expect(mine.at(-1)?.body).toMatchObject({
      tkn: "tkn-from-config",
      usrid: "user-42",
      mode: "app",
      pltfrm: "android",
      deptid: "379",
      srvid: "1972",
    });
  });

  it("a deptid the portal does not serve is refused by it (outside the pd form) → 502", async () => {
    const before = (await sandboxStats()).envelopeRejected;
    const res = await states({ UMANG_DEPT_ID: "380" });
    expect(res.status).toBe(502);
    expect(((await res.json()) as any).error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect((await sandboxStats()).envelopeRejected).toBe(before + 1);
  });
});

describe("Aadhaar numbers are checked before they leave", () => {
  it("a number failing the Verhoeff check, or not 12 digits, answers 400 and nothing is sent upstream", async () => {
    const u = await newUser();
    const before = await callsOf("aadhaarGenerateOtp");
    for (const aadhaar of ["499612345672", "499612345617", "49961234567", "4996123456711", "099612345671", "4996-1234-567X"]) {
      const r = await health("POST", "/v1/health/aadhaar/otp", { healthToken: u.token, body: { aadhaar } });
      const e = expectError(r, 400, "VALIDATION_FAILED");
      expect(e.details).toEqual([{ path: "aadhaar", message: expect.stringContaining("Verhoeff") }]);
      expect(r.text).not.toContain(aadhaar);
    }
    expect(await callsOf("aadhaarGenerateOtp")).toBe(before);
    // The seed's own example number is valid and goes out.
    expect((await health("POST", "/v1/health/aadhaar/otp", { healthToken: u.token, body: { aadhaar: "694704838997" } })).status).toBe(200);
    expect(await callsOf("aadhaarGenerateOtp")).toBe(before + 1);
  });
});

describe("the adapter's walls (issue 11)", () => {
  it("the UMANG adapter reports each call to the recorder it is given and writes no storage itself", async () => {
    const reports: UpstreamCallReport[] = [];
    const answer = await sendOp(env, "getStates", {}, { recorder: (r) => void reports.push(r) });
    expect(answer.kind).toBe("ok");
    expect(reports).toEqual([
      expect.objectContaining({ portal: "umang", operation: "getStates", outcome: "ok", httpStatus: 200, tracker: answer.trkr }),
    ]);
    expect(reports[0]).not.toHaveProperty("requestBody");
    // Nothing reached the transaction log but what the recorder chose to write (here: nothing).
    expect(await env.DB.prepare("SELECT 1 FROM upstream_calls WHERE tracker = ?").bind(answer.trkr).first()).toBeNull();
  });
});
