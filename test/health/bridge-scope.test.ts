import { describe, expect, it } from "vitest";
import { call, createClient, expectError } from "../helpers/gateway";
import { health, sandboxStats } from "./helpers";
import { SEED_REQUEST_FIELDS } from "./seed-request-fields";
import { HEALTH_OPERATIONS, requiredScopes } from "../../src/domain/health/operations";

/**
 * CONTRACT §4 / issue 15 item 8: the UMANG ops that carry the gateway's own session `authorization`
 * act as the gateway's ABDM bridge (its service registration, HIP/HIU authentication for any ABHA):
 * their routes need `health:bridge` besides `health`. Before, scope `health` alone could switch the
 * bridge service off (`PUT /v1/health/bridge-services/… {active:false}` answered 200).
 */

const BRIDGE_CALLS = [
  ["PUT", `/v1/health/bridge-services/SBX_HIP_${crypto.randomUUID().slice(0, 8)}`, { name: "AMRIT HIP", type: "HIP", active: false }],
  ["GET", "/v1/health/patient", undefined],
  [
    "POST",
    "/v1/health/users/auth/init",
    { patientId: "shahnawaz123@sbx", purpose: "KYC_AND_LINK", authMode: "MOBILE_OTP", requester: { type: "HIU", id: "IN0400XX" } },
  ],
  ["POST", "/v1/health/users/auth/confirm", { transactionId: crypto.randomUUID(), authCode: "123456", requesterId: "IN0400XX" }],
] as const;

const callsOf = async (op: string) => (await sandboxStats()).calls[op] ?? 0;

describe("health:bridge", () => {
  it("the ops that need it are exactly those whose seed request carries the gateway's `authorization`", () => {
    // approveLockerRequests' `authorization` is an object (the authorization request it approves), not
    // the session token (a string in the seed): it acts for the user holding X-Health-Token.
    const fromSeed = Object.entries(SEED_REQUEST_FIELDS)
      .filter(([op, forms]) => op !== "approveLockerRequests" && forms.some((f) => f.includes("authorization")))
      .map(([op]) => op)
      .sort();
    expect(fromSeed).toEqual(["authenticationConfirm", "bridgeServices", "initializeAuthentication", "patientApi"]);
    const bridged = HEALTH_OPERATIONS.filter((o) => (requiredScopes(o) as readonly string[]).includes("health:bridge"))
      .map((o) => o.op)
      .sort();
    expect(bridged).toEqual(fromSeed);
    expect(BRIDGE_CALLS.map(([m, p]) => `${m} ${p.replace(/SBX_HIP_\w+/, "{serviceId}")}`).sort()).toEqual(
      HEALTH_OPERATIONS.filter((o) => o.gatewayAuth)
        .map((o) => `${o.method.toUpperCase()} ${o.path}`)
        .sort(),
    );
  });

  it("scope `health` alone answers 403 FORBIDDEN on each of them, and nothing reaches UMANG", async () => {
    const ops = HEALTH_OPERATIONS.filter((o) => o.gatewayAuth).map((o) => o.op);
    const before = await Promise.all(ops.map(callsOf));
    for (const [method, path, body] of BRIDGE_CALLS) {
      const e = expectError(await health(method, path, { body }), 403, "FORBIDDEN");
      expect(e.message).toContain("health:bridge");
    }
    expect(await Promise.all(ops.map(callsOf))).toEqual(before);
  });

  it("`health:bridge` without `health` is not enough either", async () => {
    const only = await createClient(["health:bridge"], "bridge without health");
    expectError(await call("GET", "/v1/health/patient", { token: only.token }), 403, "FORBIDDEN");
  });

  it("with `health` and `health:bridge` the bridge service can be changed", async () => {
    const serviceId = `SBX_HIP_${crypto.randomUUID().slice(0, 8)}`;
    const r = await health("PUT", `/v1/health/bridge-services/${serviceId}`, {
      bridge: true,
      body: { name: "AMRIT HIP", type: "HIP", active: false },
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: serviceId, active: false });
    // Ops acting for the user holding the token need only `health`.
    expect((await health("GET", "/v1/health/states")).status).toBe(200);
  });

  it("the OpenAPI document shows each route's scopes", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    for (const op of HEALTH_OPERATIONS) {
      const entry = doc.paths[op.path][op.method];
      const scopes = op.gatewayAuth ? ["health", "health:bridge"] : ["health"];
      expect(entry["x-scopes"], op.id).toEqual({ anyScope: ["health"], everyScope: op.gatewayAuth ? ["health:bridge"] : [], adminKey: true });
      expect(entry.security[0], op.id).toEqual({ oauth2: scopes });
      expect(entry.description.includes("health:bridge"), op.id).toBe(op.gatewayAuth);
    }
  });
});
