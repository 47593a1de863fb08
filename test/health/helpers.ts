import { afterEach, beforeEach, onTestFinished } from "vitest";
import { env } from "cloudflare:workers";
import { forgetIsolateTokens } from "../../src/durable-objects/token-broker";
import { call, createClient, type TestClient } from "../helpers/gateway";
import { clearFaults, sandbox } from "../helpers/sandbox";

type Kind = "health" | "bridge";
const SCOPES = { health: ["health"], bridge: ["health", "health:bridge"] } as const;
const clients: Partial<Record<Kind, Promise<TestClient>>> = {};

/**
 * The caller of the current test, created on first use and forgotten when the test ends: nothing is
 * shared between tests, so each test stands alone whatever runs before it (or with storage that does
 * not outlive a test). `health`: scope health; `bridge`: health and health:bridge.
 */
function clientFor(kind: Kind): Promise<TestClient> {
  let c = clients[kind];
  if (!c) {
    c = clients[kind] = createClient([...SCOPES[kind]], `health tests (${kind})`);
    onTestFinished(() => void delete clients[kind]);
  }
  return c;
}
export const healthClient = () => clientFor("health");
export const bridgeClient = () => clientFor("bridge");

export interface HealthCallOptions {
  body?: unknown;
  healthToken?: string;
  headers?: Record<string, string>;
  /** Call as a client holding `health:bridge` too (the ops that act with the gateway's ABDM identity). */
  bridge?: boolean;
}

/** Calls a health route as the `health` client (or, with `bridge`, the `health` + `health:bridge` one). */
export async function health(method: string, path: string, opts: HealthCallOptions = {}) {
  const { token } = await clientFor(opts.bridge ? "bridge" : "health");
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.healthToken !== undefined) headers["X-Health-Token"] = opts.healthToken;
  return call(method, path, { token, body: opts.body, headers });
}

/** The UMANG sandbox's control and inspection routes. */
export const umang = (method: string, path: string, body?: unknown) => sandbox(method, `/umang${path}`, body);

/** Seed 001's envelope for the gateway's department and service, given the caller's token, user id and tracker. */
export const umangEnvelope = (tkn: string, usrid: string, trkr: string) => ({
  tkn,
  trkr,
  usrid,
  srvid: "1972",
  mode: "web",
  pltfrm: "web",
  did: null,
  deptid: "379",
  subsid: "0",
  subsid2: "0",
  formtrkr: "0",
});

/** Posts an op straight to the sandbox, as UMANG's own client would: the envelope and the op's fields in one body. */
export async function umangDirect(op: string, envelope: Record<string, unknown>, fields: Record<string, unknown>) {
  const res = await fetch(`${env.TEST_SANDBOX_URL}/umang/ws1/1.0/${op}`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${env.UMANG_API_TOKEN}`,
      deptid: "379",
      srvid: "1972",
      subsid: "0",
      subsid2: "0",
      formtrkr: "0",
      "Content-Type": "application/json",
    },
    body: JSON.stringify({ ...envelope, ...fields }),
  });
  return (await res.json()) as { rs: string; rc: string; rd: string; pd: any };
}

/** A fresh sandbox user with its own state, and a user token for it. */
export async function newUser(password?: string): Promise<{ token: string; id: string; healthId: string }> {
  const r = await umang("POST", "/__sandbox/users", password ? { password } : {});
  if (r.status !== 201) throw new Error(`sandbox user: ${r.status}`);
  return { token: r.json.token, id: r.json.user.id, healthId: r.json.user.healthId };
}

export interface RecordedCall {
  op: string;
  body: Record<string, any>;
  headers: Record<string, string | null>;
  seedProblem: string | null;
}

/** The calls of an op the sandbox remembers, oldest first (secrets as "sha256:<hex>"): filter for your own. */
export async function callsOf(op: string): Promise<RecordedCall[]> {
  const r = await umang("GET", `/__sandbox/calls/${op}`);
  if (r.status !== 200) throw new Error(`sandbox calls: ${r.status}`);
  return r.json;
}

/** The last body the sandbox received for an op (secrets as "sha256:<hex>"). */
export async function lastBody(op: string): Promise<Record<string, any>> {
  const r = await umang("GET", `/__sandbox/last/${op}`);
  if (r.status !== 200) throw new Error(`no ${op} call recorded`);
  return r.json;
}

export const sandboxStats = async () =>
  (await umang("GET", "/__sandbox/stats")).json as {
    sessionCalls: number;
    sessionGrants: string[];
    calls: Record<string, number>;
    duplicateTrackers: number;
    envelopeRejected: number;
    seedRejected: number;
  };

export async function sha(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `sha256:${[...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, "0")).join("")}`;
}

export const otpFor = async (id: string): Promise<string> => {
  const r = await umang("GET", `/__sandbox/otp/${encodeURIComponent(id)}`);
  if (r.status !== 200) throw new Error(`no OTP for ${id}`);
  return r.json.otp;
};

/**
 * Each test of the gateway's UMANG session starts with none cached (broker, KV, this isolate) and a
 * fresh UMANG sandbox, and leaves the sandbox without faults.
 */
export function withoutUmangSession() {
  beforeEach(async () => {
    await env.TOKEN_BROKER.get(env.TOKEN_BROKER.idFromName("umang")).invalidate("umang");
    forgetIsolateTokens();
    await umang("POST", "/__sandbox/reset");
  });
  afterEach(async () => {
    await clearFaults();
    await umang("POST", "/__sandbox/reset");
  });
}
