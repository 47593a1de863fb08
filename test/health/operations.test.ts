import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { expectError } from "../helpers/gateway";
import { callsOf, health, newUser, otpFor, sha, umang } from "./helpers";
import { SEED_REQUEST_FIELDS } from "./seed-request-fields";
import { HEALTH_OPERATIONS, SEED_OPS } from "../../src/domain/health/operations";

/**
 * Every operation of seed 001 through its clean route against the UMANG sandbox. Each test asserts
 * the answer and the exact body the sandbox received: the envelope, the op's own fields translated
 * from the clean input (secrets compared by their SHA-256, the sandbox never keeps them in clear),
 * and that the field names are those of the seed's request example for the op. The sandbox checks
 * every body against the seed's request examples itself (field names and JSON types) and refuses the
 * rest, so a call that reaches a 200 here was in the seed's form.
 *
 * Each test finds its own calls among everyone's (by its user's token or another value unique to
 * it) and shares nothing with the other tests: the file passes in any order (--sequence.shuffle).
 */

const ENVELOPE = ["tkn", "trkr", "usrid", "srvid", "mode", "pltfrm", "did", "deptid", "subsid", "subsid2", "formtrkr"];
const SUB_1 = "8ef71594-a629-4b4f-b5e5-ef21892c26b4"; // seed: a DENIED subscription request
const SUB_PENDING = "9d3c8f52-7e0a-4c61-8f4b-2a1e6b7c9d20"; // sandbox: a REQUESTED one
const AUTH_GRANTED = "2a3319a9-de1e-45eb-acf1-b29a8ff3541b"; // seed: GRANTED
const AUTH_PENDING = "5f0f6a3c-52a4-4f0b-9a4e-0d6f5e2b8c11"; // sandbox: REQUESTED

/**
 * Asserts the envelope and headers of the latest call of `op` whose body holds `match` (secrets
 * compared by their hash), that the sandbox found it in the seed's form, and answers its own fields.
 */
async function wireOf(op: string, match: Record<string, unknown>, seedForm = op): Promise<Record<string, any>> {
  const mine = (await callsOf(op)).filter((c) => Object.entries(match).every(([k, v]) => JSON.stringify(c.body[k]) === JSON.stringify(v)));
  if (mine.length === 0) throw new Error(`no ${op} call with ${JSON.stringify(match)} recorded`);
  const { body, headers, seedProblem } = mine[mine.length - 1];
  expect(seedProblem).toBeNull();
  expect(body).toMatchObject({
    tkn: env.UMANG_TKN,
    usrid: env.UMANG_USER_ID,
    srvid: "1972",
    deptid: "379",
    mode: "web",
    pltfrm: "web",
    did: null,
    subsid: "0",
    subsid2: "0",
    formtrkr: "0",
  });
  expect(body.trkr).toMatch(/^\d{19}$/);
  expect(headers).toEqual({
    deptid: "379",
    srvid: "1972",
    subsid: "0",
    subsid2: "0",
    formtrkr: "0",
    "content-type": "application/json",
    authorization: await sha(`Bearer ${env.UMANG_API_TOKEN}`),
  });
  const fields = Object.fromEntries(Object.entries(body).filter(([k]) => !ENVELOPE.includes(k)));
  // The field names are one of the seed's request forms for this op.
  expect(SEED_REQUEST_FIELDS[seedForm].map((f) => f.join(","))).toContain(Object.keys(fields).sort().join(","));
  return fields;
}

/** The gateway's UMANG session token now (the one ops with `authorization` carry). */
const sessionToken = async () => (await env.TOKEN_CACHE.get<{ token: string }>("upstream-token:umang", "json"))!.token;

const bearer = (token: string) => sha(`Bearer ${token}`);
const ok = (r: { status: number; text: string }) => {
  if (r.status !== 200) throw new Error(`expected 200, got ${r.status} ${r.text}`);
};

describe("user authentication", () => {
  it("POST /v1/health/auth/init → patientAuthInit {authMethod, healthid}, then /auth/confirm → patientAuthConfirm", async () => {
    const u = await newUser();
    // The ABHA number may come without hyphens; it goes out hyphenated as in the seed.
    const init = await health("POST", "/v1/health/auth/init", { body: { healthId: u.healthId.replace(/-/g, ""), authMethod: "MOBILE_OTP" } });
    ok(init);
    expect(init.json).toEqual({ error: null, txnId: expect.any(String) });
    expect(await wireOf("patientAuthInit", { healthid: u.healthId })).toEqual({ authMethod: "MOBILE_OTP", healthid: u.healthId });

    const otp = await otpFor(init.json.txnId);
    const confirm = await health("POST", "/v1/health/auth/confirm", { body: { transactionId: init.json.txnId, authCode: otp } });
    ok(confirm);
    expect(confirm.json.profile).toMatchObject({ id: u.id, healthId: u.healthId, stateName: "Bihar" });
    expect(typeof confirm.json.token).toBe("string");
    expect(await wireOf("patientAuthConfirm", { transactionId: init.json.txnId })).toEqual({
      transactionId: init.json.txnId,
      authCode: await sha(otp),
    });

    // The token it answered is the user's token for the other routes.
    const profile = await health("GET", "/v1/health/profile", { healthToken: confirm.json.token });
    ok(profile);
    expect(profile.json.id).toBe(u.id);
  });

  it("the fixed auth routes validate their bodies exactly", async () => {
    for (const body of [
      { healthId: "41-1661-3480-0127" },
      { healthId: "41-1661-3480-0127", authMethod: "SMS" },
      { healthId: "not an id", authMethod: "MOBILE_OTP" },
      { healthId: "41-1661-3480-0127", authMethod: "MOBILE_OTP", extra: 1 },
    ]) {
      expectError(await health("POST", "/v1/health/auth/init", { body }), 400, "VALIDATION_FAILED");
    }
    for (const body of [
      { transactionId: "x", authCode: "123456" },
      { transactionId: crypto.randomUUID(), authCode: "12ab" },
      { authCode: "123456" },
    ]) {
      expectError(await health("POST", "/v1/health/auth/confirm", { body }), 400, "VALIDATION_FAILED");
    }
  });

  it("a wrong OTP answers the seed's failure form, mapped to 422", async () => {
    const u = await newUser();
    const init = await health("POST", "/v1/health/auth/init", { body: { healthId: u.healthId, authMethod: "AADHAAR_OTP" } });
    const otp = await otpFor(init.json.txnId);
    const wrong = otp === "000000" ? "111111" : "000000";
    const e = expectError(
      await health("POST", "/v1/health/auth/confirm", { body: { transactionId: init.json.txnId, authCode: wrong } }),
      422,
      "UPSTREAM_REJECTED",
    );
    expect(e.details).toEqual([{ status: 400, code: 1441, message: "Invalid OTP" }]);
  });

  it("POST /v1/health/auth/login → gatewaySession {username, password, grantType}", async () => {
    const password = `Pw#${crypto.randomUUID().slice(0, 8)}`;
    const u = await newUser(password);
    const r = await health("POST", "/v1/health/auth/login", { body: { username: u.id, password } });
    ok(r);
    expect(r.json.token).toMatch(/^Bearer \S+$/);
    expect(await wireOf("gatewaySession", { username: u.id })).toEqual({ username: u.id, password: await sha(password), grantType: "password" });
    // The answered token works with or without its "Bearer " prefix in X-Health-Token.
    ok(await health("GET", "/v1/health/profile", { healthToken: r.json.token }));
    ok(await health("GET", "/v1/health/profile", { healthToken: r.json.token.replace(/^Bearer /, "") }));
  });

  it("POST /v1/health/auth/logout → logout {refreshToken, xAuthToken}; the token stops working", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/auth/logout", { healthToken: u.token, body: { refreshToken: "user-refresh-1" } });
    ok(r);
    expect(r.json).toBe("logout");
    expect(await wireOf("logout", { xAuthToken: await bearer(u.token) })).toEqual({
      refreshToken: await sha("user-refresh-1"),
      xAuthToken: await bearer(u.token),
    });
    expectError(await health("GET", "/v1/health/profile", { healthToken: u.token }), 401, "UPSTREAM_UNAUTHORIZED");
  });
});

describe("profile, Aadhaar and PIN", () => {
  it("GET /v1/health/profile → myProfile {xAuthToken: Bearer …}", async () => {
    const u = await newUser();
    const r = await health("GET", "/v1/health/profile", { healthToken: `Bearer ${u.token}` });
    ok(r);
    expect(r.json).toMatchObject({ id: u.id, healthId: u.healthId, hasTransactionPin: false, name: { first: "shahnawaz" } });
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(await wireOf("myProfile", { xAuthToken: await bearer(u.token) })).toEqual({ xAuthToken: await bearer(u.token) });
  });

  it("POST /v1/health/profile/complete → patientCompleteProfile {cmId, healthid, password, xAuthToken}", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/profile/complete", {
      healthToken: u.token,
      body: { phrAddress: u.id, healthId: u.healthId, password: "N3w#Password" },
    });
    ok(r);
    expect(r.json.token).toMatch(/^Bearer /);
    expect(await wireOf("patientCompleteProfile", { xAuthToken: await bearer(u.token) })).toEqual({
      cmId: u.id,
      healthid: u.healthId,
      password: await sha("N3w#Password"),
      xAuthToken: await bearer(u.token),
    });
    // The password now signs the user in.
    ok(await health("POST", "/v1/health/auth/login", { body: { username: u.id, password: "N3w#Password" } }));
  });

  it("POST /v1/health/profile/share → profileShare {requestId, hipDetails{hipId, code}}", async () => {
    const u = await newUser();
    const requestId = crypto.randomUUID();
    const r = await health("POST", "/v1/health/profile/share", { healthToken: u.token, body: { requestId, hipId: "IN3410000238", code: "12345" } });
    ok(r);
    expect(r.json).toEqual({ healthId: u.healthId, status: "SUCCESS" });
    expect(await wireOf("profileShare", { xAuthToken: await bearer(u.token) })).toEqual({
      requestId,
      hipDetails: { hipId: "IN3410000238", code: "12345" },
      xAuthToken: await bearer(u.token),
    });
    // Without a requestId the gateway mints one.
    ok(await health("POST", "/v1/health/profile/share", { healthToken: u.token, body: { hipId: "IN3410000238", code: "12345" } }));
    expect((await wireOf("profileShare", { xAuthToken: await bearer(u.token) })).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("POST /v1/health/aadhaar/otp → aadhaarGenerateOtp; /aadhaar/otp/verify → verifyAadhaarOtp {txnId, otp}", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/aadhaar/otp", { healthToken: u.token, body: { aadhaar: "4996 1234 5671" } });
    ok(r);
    expect(await wireOf("aadhaarGenerateOtp", { xAuthToken: await bearer(u.token) })).toEqual({
      aadhaar: await sha("499612345671"),
      xAuthToken: await bearer(u.token),
    });
    const otp = await otpFor(r.json.txnId);
    const v = await health("POST", "/v1/health/aadhaar/otp/verify", { healthToken: u.token, body: { transactionId: r.json.txnId, otp } });
    ok(v);
    expect(v.json).toEqual({ txnId: r.json.txnId, aadhaarVerified: true });
    expect(await wireOf("verifyAadhaarOtp", { xAuthToken: await bearer(u.token) })).toEqual({
      txnId: r.json.txnId,
      otp: await sha(otp),
      xAuthToken: await bearer(u.token),
    });
  });

  it("PIN: create → createPin, verify → verifyPin, change → changePin with the bare temporary token", async () => {
    const u = await newUser();
    const created = await health("POST", "/v1/health/pin", { healthToken: u.token, body: { pin: "4821" } });
    ok(created);
    expect(await wireOf("createPin", { xAuthToken: await bearer(u.token) })).toEqual({ pin: await sha("4821"), xAuthToken: await bearer(u.token) });
    const again = expectError(await health("POST", "/v1/health/pin", { healthToken: u.token, body: { pin: "4821" } }), 422, "UPSTREAM_REJECTED");
    expect(again.details).toEqual([{ status: 400, code: 1424, message: "Transaction pin is already created" }]);

    const requestId = crypto.randomUUID();
    const verified = await health("POST", "/v1/health/pin/verify", {
      healthToken: u.token,
      body: { requestId, pin: "4821", scope: "profile.changepin" },
    });
    ok(verified);
    const temp = verified.json.temporaryToken as string;
    expect(await wireOf("verifyPin", { xAuthToken: await bearer(u.token) })).toEqual({
      requestId,
      pin: await sha("4821"),
      scope: "profile.changepin",
      xAuthToken: await bearer(u.token),
    });
    // The same requestId again: the seed's 1412.
    const dup = expectError(
      await health("POST", "/v1/health/pin/verify", { healthToken: u.token, body: { requestId, pin: "4821", scope: "profile.changepin" } }),
      422,
      "UPSTREAM_REJECTED",
    );
    expect(dup.details[0]).toEqual({ status: 400, code: 1412, message: "A request with this request id already exists." });

    const changed = await health("PUT", "/v1/health/pin", { healthToken: `Bearer ${temp}`, body: { pin: "1357" } });
    ok(changed);
    expect(changed.json).toBe("updated");
    expect(await wireOf("changePin", { xAuthTokenByVerifyPIN: await sha(temp) })).toEqual({
      pin: await sha("1357"),
      xAuthTokenByVerifyPIN: await sha(temp),
    });
    // The new PIN verifies; the old does not.
    ok(await health("POST", "/v1/health/pin/verify", { healthToken: u.token, body: { pin: "1357", scope: "consent.approve" } }));
    expectError(
      await health("POST", "/v1/health/pin/verify", { healthToken: u.token, body: { pin: "4821", scope: "consent.approve" } }),
      422,
      "UPSTREAM_REJECTED",
    );
  });

  it("forgotten PIN: otp → forgotPinGenerateOtp, verify → forgotPinValidateOtp {sessionId, value}, reset → updatePin", async () => {
    const u = await newUser();
    const otpAnswer = await health("POST", "/v1/health/pin/forgot/otp", { healthToken: u.token });
    ok(otpAnswer);
    expect(otpAnswer.json).toMatchObject({ otpMedium: "MOBILE", expiryInMinutes: 5, sessionId: expect.any(String) });
    expect(await wireOf("forgotPinGenerateOtp", { xAuthToken: await bearer(u.token) })).toEqual({ xAuthToken: await bearer(u.token) });

    const sessionId = otpAnswer.json.sessionId;
    const otp = await otpFor(sessionId);
    const validated = await health("POST", "/v1/health/pin/forgot/otp/verify", { healthToken: u.token, body: { sessionId, otp } });
    ok(validated);
    expect(await wireOf("forgotPinValidateOtp", { xAuthToken: await bearer(u.token) })).toEqual({
      sessionId,
      value: await sha(otp),
      xAuthToken: await bearer(u.token),
    });

    const temp = validated.json.temporaryToken as string;
    const reset = await health("POST", "/v1/health/pin/forgot/reset", { healthToken: temp, body: { pin: "2468" } });
    ok(reset);
    expect(reset.json).toBe("updated");
    expect(await wireOf("updatePin", { xAuthTokenByVerifyPIN: await sha(temp) })).toEqual({
      pin: await sha("2468"),
      xAuthTokenByVerifyPIN: await sha(temp),
    });
  });
});

describe("facilities, programmes and the gateway's own session", () => {
  it("GET /v1/health/providers → listProviders {name, stateCode, districtCode}", async () => {
    const u = await newUser();
    const r = await health("GET", "/v1/health/providers?name=z&stateCode=37&districtCode=6", { healthToken: u.token });
    ok(r);
    expect(r.json.length).toBeGreaterThan(3);
    for (const p of r.json) expect(p.identifier.name.toLowerCase()).toContain("z");
    expect(await wireOf("listProviders", { xAuthToken: await bearer(u.token) })).toEqual({
      name: "z",
      stateCode: "37",
      districtCode: "6",
      xAuthToken: await bearer(u.token),
    });
    expectError(await health("GET", "/v1/health/providers?stateCode=37", { healthToken: u.token }), 400, "VALIDATION_FAILED");
  });

  it("GET /v1/health/providers/{providerId} → specificProviders {providerId}", async () => {
    const u = await newUser();
    const r = await health("GET", "/v1/health/providers/IN0410000183", { healthToken: u.token });
    ok(r);
    expect(r.json.identifier).toEqual({ name: "Max Hospital NDHM", id: "IN0410000183" });
    expect(await wireOf("specificProviders", { xAuthToken: await bearer(u.token) })).toEqual({
      providerId: "IN0410000183",
      xAuthToken: await bearer(u.token),
    });
  });

  it("GET /v1/health/government-programs → govtPrograms", async () => {
    const u = await newUser();
    const r = await health("GET", "/v1/health/government-programs", { healthToken: u.token });
    ok(r);
    expect(r.json.map((p: any) => p.identifier.id)).toEqual(["PMJAY", "CoWINSIT"]);
    expect(await wireOf("govtPrograms", { xAuthToken: await bearer(u.token) })).toEqual({ xAuthToken: await bearer(u.token) });
  });

  it("PUT /v1/health/bridge-services/{serviceId} → bridgeServices {id, name, type, active, alias, authorization}", async () => {
    const serviceId = `SBX_HIP_${crypto.randomUUID().slice(0, 8).toUpperCase()}`;
    const r = await health("PUT", `/v1/health/bridge-services/${serviceId}`, {
      bridge: true,
      body: { name: "AMRIT HIP", type: "HIP", alias: ["HIP"] },
    });
    ok(r);
    expect(r.json).toEqual({ id: serviceId, name: "AMRIT HIP", type: "HIP", active: true, alias: ["HIP"] });
    const w = await wireOf("bridgeServices", { id: serviceId });
    expect(w).toEqual({
      id: serviceId,
      name: "AMRIT HIP",
      type: "HIP",
      active: true,
      alias: ["HIP"],
      authorization: await sha(await sessionToken()),
    });
  });

  it("GET /v1/health/patient → patientApi {authorization} (the session's accessToken, no user token)", async () => {
    const r = await health("GET", "/v1/health/patient", { bridge: true });
    ok(r);
    expect(r.json).toMatchObject({ identifier: "anaro@sbx", healthIdNumber: "35-0160-8034-5155" });
    // The session token cached in KV (not fetched per call) is what the op carried.
    const authorization = await sha(await sessionToken());
    expect(await wireOf("patientApi", { authorization })).toEqual({ authorization });
  });

  it("POST /v1/health/users/auth/init → initializeAuthentication; /users/auth/confirm → authenticationConfirm", async () => {
    const u = await newUser();
    const init = await health("POST", "/v1/health/users/auth/init", {
      bridge: true,
      body: { patientId: u.id, purpose: "KYC_AND_LINK", authMode: "MOBILE_OTP", requester: { type: "HIU", id: "IN0400XX" } },
    });
    ok(init);
    expect(await wireOf("initializeAuthentication", { patientId: u.id })).toEqual({
      patientId: u.id,
      purpose: "KYC_AND_LINK",
      authMode: "MOBILE_OTP",
      requester: { type: "HIU", id: "IN0400XX" },
      authorization: await sha(await sessionToken()),
    });
    const otp = await otpFor(init.json.transactionId);
    const confirm = await health("POST", "/v1/health/users/auth/confirm", {
      bridge: true,
      body: { transactionId: init.json.transactionId, authCode: otp, requesterId: "IN0400XX" },
    });
    ok(confirm);
    expect(confirm.json.patient).toMatchObject({ id: u.id });
    expect(await wireOf("authenticationConfirm", { transactionId: init.json.transactionId })).toEqual({
      transactionId: init.json.transactionId,
      authCode: await sha(otp),
      requesterId: "IN0400XX",
      authorization: await sha(await sessionToken()),
    });
  });
});

describe("care contexts and links", () => {
  it("discover → discoverPatient, link → linkEnquiry, confirm → linkConfirm, list → patientLinks", async () => {
    const u = await newUser();
    const requestId = crypto.randomUUID();
    const d = await health("POST", "/v1/health/care-contexts/discover", {
      healthToken: u.token,
      body: { requestId, hipId: "IN3410000238", unverifiedIdentifiers: [{ type: "MOBILE", value: "+919800083232" }] },
    });
    ok(d);
    expect(d.json.patient.referenceNumber).toBe("11012");
    expect(await wireOf("discoverPatient", { xAuthToken: await bearer(u.token) })).toEqual({
      requestId,
      hip: { id: "IN3410000238" },
      unverifiedIdentifiers: [{ type: "MOBILE", value: "+919800083232" }],
      xAuthToken: await bearer(u.token),
    });
    const again = expectError(
      await health("POST", "/v1/health/care-contexts/discover", { healthToken: u.token, body: { requestId, hipId: "IN3410000238" } }),
      422,
      "UPSTREAM_REJECTED",
    );
    expect(again.details).toEqual([{ status: 400, code: 1412, message: "A request with this request id already exists." }]);

    const linkRequestId = crypto.randomUUID();
    const l = await health("POST", "/v1/health/links", {
      healthToken: u.token,
      body: { requestId: linkRequestId, transactionId: d.json.transactionId, patientReference: "11012", careContextReferences: ["15372"] },
    });
    ok(l);
    expect(l.json.link.referenceNumber).toBe("11012");
    expect(await wireOf("linkEnquiry", { xAuthToken: await bearer(u.token) })).toEqual({
      requestId: linkRequestId,
      transactionId: d.json.transactionId,
      patient: { referenceNumber: "11012", careContexts: [{ referenceNumber: "15372" }] },
      xAuthToken: await bearer(u.token),
    });

    const otp = await otpFor("link:11012");
    const c = await health("POST", "/v1/health/links/confirm", { healthToken: u.token, body: { linkReference: "11012", otp } });
    ok(c);
    expect(c.json.patient.referenceNumber).toBe("11012");
    expect(await wireOf("linkConfirm", { xAuthToken: await bearer(u.token) })).toEqual({
      token: await sha(otp),
      linkRefNumber: "11012",
      xAuthToken: await bearer(u.token),
    });
    const bad = expectError(
      await health("POST", "/v1/health/links/confirm", { healthToken: u.token, body: { linkReference: "99999", otp } }),
      422,
      "UPSTREAM_REJECTED",
    );
    expect(bad.details).toEqual([{ status: 400, code: 1413, message: "Invalid link reference" }]);

    const links = await health("GET", "/v1/health/links", { healthToken: u.token });
    ok(links);
    expect(links.json.patient.links[0].hip.id).toBe("IN3410000238");
    expect(await wireOf("patientLinks", { xAuthToken: await bearer(u.token) })).toEqual({ xAuthToken: await bearer(u.token) });
  });
});

describe("requests: consents, subscriptions, authorizations", () => {
  it("GET /v1/health/requests → patientRequest with every limit and offset as strings", async () => {
    const u = await newUser();
    const r = await health(
      "GET",
      "/v1/health/requests?consentLimit=2&consentOffset=1&subscriptionLimit=80&lockerSetupLimit=5&authorizationLimit=7&status=ALL",
      {
        healthToken: u.token,
      },
    );
    ok(r);
    expect(r.json.consents).toMatchObject({ size: 5, offset: 1, limit: 2 });
    expect(r.json.consents.requests).toHaveLength(2);
    expect(Object.keys(r.json).sort()).toEqual(["authorizations", "consents", "lockerSetups", "subscriptions"]);
    expect(await wireOf("patientRequest", { xAuthToken: await bearer(u.token) })).toEqual({
      consentLimit: "2",
      consentOffset: "1",
      lockerSetupLimit: "5",
      lockerSetupOffset: "0",
      subscriptionLimit: "80",
      subscriptionOffset: "0",
      authorizationLimit: "7",
      authorizationOffset: "0",
      status: "ALL",
      xAuthToken: await bearer(u.token),
    });
    expectError(await health("GET", "/v1/health/requests?consentLimit=0", { healthToken: u.token }), 400, "VALIDATION_FAILED");
    expectError(await health("GET", "/v1/health/requests?status=MAYBE", { healthToken: u.token }), 400, "VALIDATION_FAILED");
  });

  it("GET /v1/health/requests takes the seed's own limits, 105 and 198 (issue 15 item 10: they were a 400)", async () => {
    const u = await newUser();
    const r = await health("GET", "/v1/health/requests?consentLimit=105&lockerSetupLimit=198&subscriptionLimit=80&authorizationLimit=100", {
      healthToken: u.token,
    });
    ok(r);
    // UMANG answers pages of at most 100, as the seed's own answer to this request shows.
    expect(r.json.consents.limit).toBe(100);
    expect(await wireOf("patientRequest", { xAuthToken: await bearer(u.token) })).toMatchObject({
      consentLimit: "105",
      lockerSetupLimit: "198",
      subscriptionLimit: "80",
      authorizationLimit: "100",
      status: "ALL",
    });
  });

  it("GET /v1/health/subscription-requests → subscriptionRequests {limit, offset, filter}", async () => {
    const u = await newUser();
    const r = await health("GET", "/v1/health/subscription-requests?limit=5&status=REQUESTED", { healthToken: u.token });
    ok(r);
    expect(r.json).toMatchObject({ size: 1, offset: 0, limit: 5 });
    expect(r.json.requests.map((x: any) => x.id)).toEqual([SUB_PENDING]);
    expect(await wireOf("subscriptionRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      limit: "5",
      offset: "0",
      filter: "REQUESTED",
      xAuthToken: await bearer(u.token),
    });
  });

  it('every status: the seed\'s literal filter "status" goes out (issue 15 item 10: "ALL" went out)', async () => {
    const u = await newUser();
    for (const query of ["", "?status=ALL"]) {
      const r = await health("GET", `/v1/health/subscription-requests${query}`, { healthToken: u.token });
      ok(r);
      expect(r.json.requests.map((x: any) => x.status).sort()).toEqual(["DENIED", "REQUESTED"]);
      expect(await wireOf("subscriptionRequests", { xAuthToken: await bearer(u.token) })).toEqual({
        limit: "10",
        offset: "0",
        filter: "status",
        xAuthToken: await bearer(u.token),
      });
      ok(await health("GET", `/v1/health/authorization-requests${query}`, { healthToken: u.token }));
      expect((await wireOf("listAuthorizationRequests", { xAuthToken: await bearer(u.token) })).filter).toBe("status");
    }
  });

  it("GET /v1/health/subscription-requests/{requestId} → subscriptionRequests (details form)", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/subscription-requests/lookup", { healthToken: u.token, body: { requestId: SUB_1 } });
    ok(r);
    expect(r.json).toMatchObject({ id: SUB_1, status: "DENIED", hiu: { id: "driefcasehl" } });
    expect(await wireOf("subscriptionRequests", { xAuthToken: await bearer(u.token) }, "subscriptionRequests#2")).toEqual({
      limit: "100",
      offset: "0",
      filter: "status",
      xAuthToken: await bearer(u.token),
    });
    expectError(
      await health("POST", "/v1/health/subscription-requests/lookup", { healthToken: u.token, body: { requestId: crypto.randomUUID() } }),
      404,
      "NOT_FOUND",
    );
  });

  it("POST …/subscription-requests/{id}/deny → denyRequests {requestId, reason}", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/subscription-requests/deny", {
      healthToken: u.token,
      body: { requestId: SUB_PENDING, reason: "not required" },
    });
    ok(r);
    expect(r.json).toEqual({ requestId: SUB_PENDING, status: "DENIED" });
    expect(await wireOf("denyRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      requestId: SUB_PENDING,
      reason: "not required",
      xAuthToken: await bearer(u.token),
    });
    const missing = expectError(
      await health("POST", "/v1/health/subscription-requests/deny", { healthToken: u.token, body: { requestId: crypto.randomUUID(), reason: "x" } }),
      404,
      "UPSTREAM_NOT_FOUND",
    );
    expect(missing.details).toEqual([{ status: 404, code: 1415, message: "Cannot find the subscription request" }]);
  });

  it("POST …/subscription-requests/{id}/approve → approveRequests: sources translated, booleans as strings, purpose text filled", async () => {
    const u = await newUser();
    const source = {
      hiTypes: ["Prescription", "DiagnosticReport"],
      purpose: { code: "PATRQT" },
      hip: { id: "IN3410000238", name: "City Centre" },
      categories: ["LINK", "DATA"],
      period: { from: "2026-01-01T00:00:00+05:30", to: "2026-06-30T23:59:59Z" },
    };
    const r = await health("POST", "/v1/health/subscription-requests/approve", {
      healthToken: u.token,
      body: { requestId: SUB_PENDING, isApplicableForAllHips: false, includedSources: [source] },
    });
    ok(r);
    expect(r.json.subscriptionId).toEqual(expect.any(String));
    expect(await wireOf("approveRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      isApplicableForAllHIPs: "false",
      includedSources: [
        {
          hiTypes: ["Prescription", "DiagnosticReport"],
          purpose: { code: "PATRQT", text: "Self Requested" },
          hip: { id: "IN3410000238", name: "City Centre" },
          categories: ["LINK", "DATA"],
          period: { from: "2025-12-31T18:30:00.000Z", to: "2026-06-30T23:59:59.000Z" },
        },
      ],
      excludedSources: [],
      requestId: SUB_PENDING,
      xAuthToken: await bearer(u.token),
    });
    // The seed's 1514: HIP details with "all HIPs".
    const e = expectError(
      await health("POST", "/v1/health/subscription-requests/approve", {
        healthToken: u.token,
        body: { requestId: SUB_PENDING, isApplicableForAllHips: true, includedSources: [source] },
      }),
      422,
      "UPSTREAM_REJECTED",
    );
    expect(e.details).toEqual([{ status: 400, code: 1514, message: "HIP details are not allowed in sources when applicable for all HIPs" }]);
    // Clean-side validation: an unknown hiType, a reversed period.
    expectError(
      await health("POST", "/v1/health/subscription-requests/approve", {
        healthToken: u.token,
        body: { requestId: SUB_PENDING, isApplicableForAllHips: true, includedSources: [{ ...source, hip: undefined, hiTypes: ["XRay"] }] },
      }),
      400,
      "VALIDATION_FAILED",
    );
    expectError(
      await health("POST", "/v1/health/subscription-requests/approve", {
        healthToken: u.token,
        body: {
          requestId: SUB_PENDING,
          isApplicableForAllHips: true,
          includedSources: [{ ...source, hip: undefined, period: { from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" } }],
        },
      }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("POST /v1/health/subscriptions/edit → editRequests {hiuId, subscriptionEditAndApprovalRequest, subscriptionId}", async () => {
    const u = await newUser();
    const body = {
      hiuId: "Test-HIU",
      isApplicableForAllHips: true,
      includedSources: [
        {
          categories: ["LINK", "DATA"],
          hiTypes: ["DiagnosticReport", "Prescription"],
          period: { from: "2021-12-02T04:39:04.368Z", to: "2025-12-03T04:39:04.368Z" },
          purpose: { code: "PATRQT", text: "Self Requested" },
        },
      ],
    };
    const r = await health("POST", "/v1/health/subscriptions/edit", { healthToken: u.token, body: { ...body, subscriptionId: SUB_1 } });
    ok(r);
    expect(await wireOf("editRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      hiuId: "Test-HIU",
      subscriptionEditAndApprovalRequest: {
        isApplicableForAllHIPs: "true",
        includedSources: [
          {
            hiTypes: ["DiagnosticReport", "Prescription"],
            purpose: { code: "PATRQT", text: "Self Requested" },
            categories: ["LINK", "DATA"],
            period: { from: "2021-12-02T04:39:04.368Z", to: "2025-12-03T04:39:04.368Z" },
          },
        ],
        excludedSources: [],
      },
      subscriptionId: SUB_1,
      xAuthToken: await bearer(u.token),
    });
    const e = expectError(
      await health("POST", "/v1/health/subscriptions/edit", { healthToken: u.token, body: { ...body, subscriptionId: crypto.randomUUID() } }),
      404,
      "UPSTREAM_NOT_FOUND",
    );
    expect(e.details).toEqual([{ status: 404, code: 1450, message: "Cannot find the subscription request" }]);
  });

  it("GET /v1/health/authorization-requests → listAuthorizationRequests {limit, offset, filter}", async () => {
    const u = await newUser();
    const r = await health("GET", "/v1/health/authorization-requests?status=GRANTED&limit=3&offset=0", { healthToken: u.token });
    ok(r);
    expect(r.json.requests.map((x: any) => x.requestId)).toEqual([AUTH_GRANTED]);
    expect(await wireOf("listAuthorizationRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      limit: "3",
      offset: "0",
      filter: "GRANTED",
      xAuthToken: await bearer(u.token),
    });
  });

  it("POST …/authorization-requests/{id}/grant → grantAuthorizationRequests {requestId}", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/authorization-requests/grant", { healthToken: u.token, body: { requestId: AUTH_PENDING } });
    ok(r);
    expect(r.json).toMatchObject({ requestId: AUTH_PENDING, status: "GRANTED", expiry: null, requester: { id: "driefcasehl" } });
    expect(await wireOf("grantAuthorizationRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      requestId: AUTH_PENDING,
      xAuthToken: await bearer(u.token),
    });
  });

  it("POST …/authorization-requests/{id}/approve → approveAuthorizationRequests {requestId, generatePerpetualToken}", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/authorization-requests/approve", {
      healthToken: u.token,
      body: { requestId: AUTH_PENDING, generatePerpetualToken: true },
    });
    ok(r);
    expect(r.json).toMatchObject({ requestId: AUTH_PENDING, status: "GRANTED" });
    expect(await wireOf("approveAuthorizationRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      requestId: AUTH_PENDING,
      generatePerpetualToken: "true",
      xAuthToken: await bearer(u.token),
    });
  });

  it("POST …/authorization-requests/{id}/revoke → revokeAuthorizationRequests; twice → the seed's 1510", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/authorization-requests/revoke", { healthToken: u.token, body: { requestId: AUTH_GRANTED } });
    ok(r);
    expect(r.json).toEqual({ requestId: AUTH_GRANTED, status: "REVOKED" });
    expect(await wireOf("revokeAuthorizationRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      requestId: AUTH_GRANTED,
      xAuthToken: await bearer(u.token),
    });
    const e = expectError(
      await health("POST", "/v1/health/authorization-requests/revoke", { healthToken: u.token, body: { requestId: AUTH_GRANTED } }),
      422,
      "UPSTREAM_REJECTED",
    );
    expect(e.details).toEqual([{ status: 400, code: 1510, message: "Authorization already revoked" }]);
  });

  it("POST …/authorization-requests/{id}/deny → denyAuthorizationRequests {requestId}", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/authorization-requests/deny", { healthToken: u.token, body: { requestId: AUTH_PENDING } });
    ok(r);
    expect(r.json).toEqual({ requestId: AUTH_PENDING, status: "DENIED" });
    expect(await wireOf("denyAuthorizationRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      requestId: AUTH_PENDING,
      xAuthToken: await bearer(u.token),
    });
  });
});

describe("health lockers", () => {
  it("POST /v1/health/lockers/search {patientId} and GET /v1/health/lockers → patientLockers, the seed's two forms", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/lockers/search", { healthToken: u.token, body: { patientId: u.id } });
    ok(r);
    expect(r.json[0]).toMatchObject({ lockerId: "driefcasehl", active: true });
    expect(await wireOf("patientLockers", { xAuthToken: await bearer(u.token) })).toEqual({
      patientId: u.id,
      includeInactive: "no",
      xAuthToken: await bearer(u.token),
    });
    ok(await health("GET", "/v1/health/lockers", { healthToken: u.token }));
    expect(await wireOf("patientLockers", { xAuthToken: await bearer(u.token) })).toEqual({ xAuthToken: await bearer(u.token) });
  });

  it("GET /v1/health/lockers/{lockerId} → patientLockers {lockerId}; unknown → the seed's 404 1417", async () => {
    const u = await newUser();
    const r = await health("GET", "/v1/health/lockers/driefcasehl", { healthToken: u.token });
    ok(r);
    expect(r.json).toMatchObject({ lockerId: "driefcasehl", lockerName: "DRiefcase Health Locker" });
    expect(await wireOf("patientLockers", { xAuthToken: await bearer(u.token) }, "patientLockers#2")).toEqual({
      lockerId: "driefcasehl",
      xAuthToken: await bearer(u.token),
    });
    const e = expectError(await health("GET", "/v1/health/lockers/10000002", { healthToken: u.token }), 404, "UPSTREAM_NOT_FOUND");
    expect(e.details).toEqual([{ status: 404, code: 1417, message: "Cannot find locker setup for user" }]);
  });

  it("GET /v1/health/locker-services → registerLocker", async () => {
    const u = await newUser();
    const r = await health("GET", "/v1/health/locker-services", { healthToken: u.token });
    ok(r);
    expect(r.json).toMatchObject({ offset: 0, size: 32, limit: 32 });
    expect(r.json.services[0]).toMatchObject({ id: "driefcasehl", type: "HEALTH_LOCKER" });
    expect(await wireOf("registerLocker", { xAuthToken: await bearer(u.token) })).toEqual({ xAuthToken: await bearer(u.token) });
  });

  it("POST /v1/health/locker-requests/approve → approveLockerRequests {subscription, autoApproval, authorization}", async () => {
    const u = await newUser();
    const period = { from: "2021-12-28T10:38:24.687Z", to: "2021-12-28T10:38:24.687Z" };
    const r = await health("POST", "/v1/health/locker-requests/approve", {
      healthToken: u.token,
      body: {
        subscription: {
          requestId: AUTH_GRANTED,
          isApplicableForAllHips: false,
          includedSources: [{ hiTypes: ["Prescription"], purpose: { code: "CAREMGT" }, hip: { id: "IN3410000238" }, categories: ["LINK"], period }],
        },
        autoApproval: {
          isApplicableForAllHips: true,
          hiu: { id: "driefcasehl", name: "DRiefcase" },
          includedSources: [{ hiTypes: ["Prescription"], purpose: { code: "CAREMGT" } }],
        },
        authorization: { requestId: AUTH_GRANTED, generatePerpetualToken: true },
      },
    });
    ok(r);
    expect(r.json).toEqual({ autoApprovalId: null, authorizationId: null, subscriptionId: null });
    expect(await wireOf("approveLockerRequests", { xAuthToken: await bearer(u.token) })).toEqual({
      subscription: {
        requestId: AUTH_GRANTED,
        isApplicableForAllHIPs: "false",
        includedSources: [
          {
            hiTypes: ["Prescription"],
            purpose: { code: "CAREMGT", text: "Care Management" },
            hip: { id: "IN3410000238" },
            categories: ["LINK"],
            period,
          },
        ],
        excludedSources: [],
      },
      autoApproval: {
        isApplicableForAllHIPs: "true",
        hiu: { id: "driefcasehl", name: "DRiefcase" },
        includedSources: [{ hiTypes: ["Prescription"], purpose: { code: "CAREMGT", text: "Care Management" } }],
        excludedSources: [],
      },
      authorization: { requestId: AUTH_GRANTED, generatePerpetualToken: "true" },
      xAuthToken: await bearer(u.token),
    });
    expectError(await health("POST", "/v1/health/locker-requests/approve", { healthToken: u.token, body: {} }), 400, "VALIDATION_FAILED");
  });
});

describe("reference data and notifications", () => {
  it("a body-less POST takes no body or {}; an unknown field is a 400", async () => {
    const u = await newUser();
    ok(await health("POST", "/v1/health/pin/forgot/otp", { healthToken: u.token, body: {} }));
    expectError(await health("POST", "/v1/health/pin/forgot/otp", { healthToken: u.token, body: { extra: 1 } }), 400, "VALIDATION_FAILED");
    expectError(
      await health("POST", "/v1/health/authorization-requests/revoke", { healthToken: u.token, body: { requestId: AUTH_PENDING, reason: "x" } }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("GET /v1/health/states → getStates, nothing but the envelope", async () => {
    const r = await health("GET", "/v1/health/states");
    ok(r);
    expect(r.json).toHaveLength(36);
    expect(r.json).toContainEqual({ stateName: "Assam", stateCode: "18" });
    expect(await wireOf("getStates", {})).toEqual({});
  });

  it("GET /v1/health/states/{stateCode}/districts → getDistrict {stateCode}", async () => {
    const r = await health("GET", "/v1/health/states/10/districts");
    ok(r);
    expect(r.json).toContainEqual({ code: "195", name: "Darbhanga" });
    expect(await wireOf("getDistrict", { stateCode: "10" })).toEqual({ stateCode: "10" });
    expectError(await health("GET", "/v1/health/states/Bihar/districts"), 400, "VALIDATION_FAILED");
  });

  it("POST /v1/health/notifications → appNotification {appToken, period, status}", async () => {
    const u = await newUser();
    const r = await health("POST", "/v1/health/notifications", {
      healthToken: u.token,
      body: { appToken: "fcm-device-token-1", period: { from: "2026-01-01T00:00:00Z", to: "2026-01-31T00:00:00Z" }, status: "GRANTED" },
    });
    ok(r);
    expect(r.json).toBe("Saved");
    expect(await wireOf("appNotification", { xAuthToken: await bearer(u.token) })).toEqual({
      appToken: await sha("fcm-device-token-1"),
      period: { from: "2026-01-01T00:00:00.000Z", to: "2026-01-31T00:00:00.000Z" },
      status: "GRANTED",
      xAuthToken: await bearer(u.token),
    });
  });
});

describe("coverage of the seed", () => {
  it("every op of seed 001 but session has a route, and every section form of the seed has one", () => {
    const routed = new Set(HEALTH_OPERATIONS.map((o) => o.op));
    expect([...SEED_OPS].filter((op) => op !== "session" && !routed.has(op))).toEqual([]);
    expect(HEALTH_OPERATIONS).toHaveLength(45);
    const forms = new Set(HEALTH_OPERATIONS.map((o) => o.seedForm ?? o.op));
    expect(Object.keys(SEED_REQUEST_FIELDS).filter((k) => k !== "session" && !forms.has(k))).toEqual([]);
  });

  it("no health identifier travels in a URL (issue 12): ids of people and of their requests are in bodies", () => {
    // Path and query parameters allowed: reference data, facilities, services and lockers, paging.
    const allowed = new Set(["stateCode", "providerId", "serviceId", "lockerId", "name", "districtCode", "limit", "offset", "status"]);
    const inUrls = HEALTH_OPERATIONS.flatMap((o) => [
      ...[...o.path.matchAll(/\{(\w+)\}/g)].map((m) => `${o.id}: ${m[1]}`),
      ...Object.keys((o.query as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? {}).map((k) => `${o.id}: ${k}`),
    ]);
    expect(
      inUrls.filter(
        (p) => !allowed.has(p.split(": ")[1]) && !/^(consent|subscription|authorization|lockerSetup)(Limit|Offset)$/.test(p.split(": ")[1]),
      ),
    ).toEqual([]);
    // What moved into bodies.
    const bodyFields = (id: string) =>
      Object.keys((HEALTH_OPERATIONS.find((o) => o.id === id)!.body as unknown as { shape: Record<string, unknown> }).shape);
    expect(bodyFields("healthLockersSearch")).toContain("patientId");
    for (const id of [
      "healthSubscriptionRequest",
      "healthDenySubscriptionRequest",
      "healthApproveSubscriptionRequest",
      "healthGrantAuthorizationRequest",
      "healthApproveAuthorizationRequest",
      "healthRevokeAuthorizationRequest",
      "healthDenyAuthorizationRequest",
    ]) {
      expect(bodyFields(id), id).toContain("requestId");
    }
    expect(bodyFields("healthEditSubscription")).toContain("subscriptionId");
    expect(bodyFields("healthLinkConfirm")).toContain("linkReference");
  });

  it("every call the gateway made carried a tracker of its own", async () => {
    // The gateway's trackers are 19 digits; every call of every op the sandbox still remembers is checked.
    ok(await health("GET", "/v1/health/states"));
    const trackers: string[] = [];
    for (const op of SEED_OPS) for (const c of await callsOf(op)) if (/^\d{19}$/.test(String(c.body.trkr))) trackers.push(c.body.trkr);
    expect(trackers.length).toBeGreaterThan(0);
    expect(new Set(trackers).size).toBe(trackers.length);
  });

  it("GET /openapi.json lists every health route with its operationId", async () => {
    const { call } = await import("../helpers/gateway");
    const doc = (await call("GET", "/openapi.json")).json;
    for (const op of HEALTH_OPERATIONS) {
      const entry = doc.paths[op.path]?.[op.method];
      expect(entry?.operationId, `${op.method} ${op.path}`).toBe(op.id);
      expect(entry.tags).toEqual(["health"]);
      expect(Object.keys(entry.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "403", "404", "409", "422", "502", "504"]));
      const tokenParam = (entry.parameters ?? []).find((p: any) => p.in === "header" && p.name.toLowerCase() === "x-health-token");
      expect(Boolean(tokenParam), `${op.id} X-Health-Token`).toBe(op.userToken !== "none");
      if (tokenParam) expect(tokenParam.required).toBe(true);
    }
    expect(doc.paths["/v1/health/auth/init"].post.requestBody.content["application/json"].schema.$ref).toBe("#/components/schemas/HealthAuthInit");
    expect(doc.components.schemas.HealthAuthInit.properties.authMethod.enum).toEqual(["MOBILE_OTP", "AADHAAR_OTP", "DEMOGRAPHICS", "DIRECT"]);
    expect(doc.paths["/v1/health/states/{stateCode}/districts"].get.parameters).toContainEqual(
      expect.objectContaining({ name: "stateCode", in: "path" }),
    );
  });
});
