import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { clearFaults, setFaults } from "../helpers/sandbox";
import { callsOf, healthClient, health, newUser, otpFor, sha } from "./helpers";

/**
 * Spies on console.log/info/warn/error/debug while a run of health calls carries every kind of
 * secret (passwords, PINs, OTPs, Aadhaar numbers, user and temporary tokens, app and refresh
 * tokens, the gateway's own UMANG credentials and session token), including failing and timed-out
 * calls; then checks that none of them appears in any log line, nor in the transaction log.
 */

const lines: string[] = [];
const methods = ["log", "info", "warn", "error", "debug"] as const;

beforeAll(() => {
  for (const m of methods) {
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  await clearFaults();
});

describe("no secret reaches a log line or the transaction log", () => {
  it("through a run of every kind of secret", async () => {
    const secrets: string[] = [];
    const keep = (...s: string[]) => {
      secrets.push(...s);
      return s[0];
    };
    const password = keep(`Pw#${crypto.randomUUID()}`);
    const u = await newUser(password);
    keep(u.token);

    const login = await health("POST", "/v1/health/auth/login", { body: { username: u.id, password } });
    expect(login.status).toBe(200);
    const loginToken = keep(login.json.token.replace(/^Bearer /, ""));

    // PIN: create, a wrong PIN, verify, change with the temporary token.
    keep("7319", "7391", "5502");
    expect((await health("POST", "/v1/health/pin", { healthToken: loginToken, body: { pin: "7319" } })).status).toBe(200);
    expect(
      (await health("POST", "/v1/health/pin/verify", { healthToken: loginToken, body: { pin: "7391", scope: "profile.changepin" } })).status,
    ).toBe(422);
    const verified = await health("POST", "/v1/health/pin/verify", { healthToken: loginToken, body: { pin: "7319", scope: "profile.changepin" } });
    const temp = keep(verified.json.temporaryToken);
    expect((await health("PUT", "/v1/health/pin", { healthToken: temp, body: { pin: "5502" } })).status).toBe(200);

    // Aadhaar: a valid number (and its spaced form), an invalid one, the OTP and a wrong OTP.
    keep("694704838997", "6947 0483 8997", "694704838998");
    const otpStart = await health("POST", "/v1/health/aadhaar/otp", { healthToken: loginToken, body: { aadhaar: "6947 0483 8997" } });
    expect(otpStart.status).toBe(200);
    expect((await health("POST", "/v1/health/aadhaar/otp", { healthToken: loginToken, body: { aadhaar: "694704838998" } })).status).toBe(400);
    const aadhaarOtp = keep(await otpFor(otpStart.json.txnId));
    const wrongOtp = keep(aadhaarOtp === "246810" ? "135791" : "246810");
    expect(
      (
        await health("POST", "/v1/health/aadhaar/otp/verify", {
          healthToken: loginToken,
          body: { transactionId: otpStart.json.txnId, otp: wrongOtp },
        })
      ).status,
    ).toBe(422);

    // The user's OTP sign-in: the OTP and the token it answers.
    const init = await health("POST", "/v1/health/auth/init", { body: { healthId: u.healthId, authMethod: "MOBILE_OTP" } });
    const authOtp = keep(await otpFor(init.json.txnId));
    const confirm = await health("POST", "/v1/health/auth/confirm", { body: { transactionId: init.json.txnId, authCode: authOtp } });
    expect(confirm.status).toBe(200);
    keep(confirm.json.token);

    // Forgotten PIN: OTP, temporary token, new PIN.
    const fp = await health("POST", "/v1/health/pin/forgot/otp", { healthToken: loginToken });
    const fpOtp = keep(await otpFor(fp.json.sessionId));
    const fpv = await health("POST", "/v1/health/pin/forgot/otp/verify", {
      healthToken: loginToken,
      body: { sessionId: fp.json.sessionId, otp: fpOtp },
    });
    const fpTemp = keep(fpv.json.temporaryToken);
    keep("8642");
    expect((await health("POST", "/v1/health/pin/forgot/reset", { healthToken: fpTemp, body: { pin: "8642" } })).status).toBe(200);

    // Password on profile completion, app token, a refused token, a timed-out call with a token.
    keep("Another#Pass-2");
    expect(
      (
        await health("POST", "/v1/health/profile/complete", {
          healthToken: loginToken,
          body: { phrAddress: u.id, healthId: u.healthId, password: "Another#Pass-2" },
        })
      ).status,
    ).toBe(200);
    const appToken = keep(`fcm-${crypto.randomUUID()}`);
    expect(
      (
        await health("POST", "/v1/health/notifications", {
          healthToken: loginToken,
          body: { appToken, period: { from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z" }, status: "GRANTED" },
        })
      ).status,
    ).toBe(200);
    const bogus = keep(`bogus-${crypto.randomUUID()}`);
    expect((await health("GET", "/v1/health/profile", { healthToken: bogus })).status).toBe(401);
    await setFaults("umang", { slowRate: 1, slowMs: 2600, pathPattern: "myProfile" });
    expect((await health("GET", "/v1/health/profile", { healthToken: loginToken })).status).toBe(504);
    await clearFaults();

    // The gateway's own session (carried by patientApi) and credentials; logout with a refresh token.
    const patient = await health("GET", "/v1/health/patient", { bridge: true });
    expect(patient.status).toBe(200);
    const session = await env.TOKEN_CACHE.get<{ token: string }>("upstream-token:umang", "json");
    keep(session!.token, env.UMANG_API_TOKEN!, env.UMANG_CLIENT_SECRET!);
    const client = await healthClient();
    keep(client.token, client.apiKey, client.clientSecret);
    const refresh = keep(`refresh-${crypto.randomUUID()}`);
    expect((await health("POST", "/v1/health/auth/logout", { healthToken: loginToken, body: { refreshToken: refresh } })).status).toBe(200);
    const refreshHash = await sha(refresh);

    // The logs are there (so the check below means something) and carry the tracker with the request id.
    const trkr = (await callsOf("logout")).filter((c) => c.body.refreshToken === refreshHash).at(-1)!.body.trkr;
    const callLine = lines.map((l) => safeParse(l)).find((l) => l?.msg === "umang call" && l.operation === "logout" && l.trkr === trkr);
    expect(callLine).toBeDefined();
    expect(callLine.requestId).toEqual(expect.any(String));
    expect(lines.length).toBeGreaterThan(40);

    const all = lines.join("\n");
    for (const s of secrets) {
      expect(s.length).toBeGreaterThanOrEqual(4);
      if (leaks(all, s)) throw new Error(`a secret reached the logs: ${s.slice(0, 3)}… (${secrets.indexOf(s)})`);
    }

    // The transaction log: operation, outcome, status, timing, tracker, request id; no bodies for UMANG.
    // Rows are written after each response (waitUntil): wait until every logged call has its row.
    // Only this run's rows (other test files share the database): those of the requests it logged.
    const callLines = lines.map((l) => safeParse(l)).filter((l) => l?.msg === "umang call" && l.requestId);
    const requestIds = new Set(callLines.map((l) => l.requestId));
    const rows = await vi.waitFor(
      async () => {
        const r = (
          await env.DB.prepare("SELECT * FROM upstream_calls WHERE portal = 'umang' AND request_id IN (SELECT value FROM json_each(?))")
            .bind(JSON.stringify([...requestIds]))
            .all()
        ).results;
        expect(r.length).toBeGreaterThanOrEqual(callLines.length);
        return r;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(rows.length).toBeGreaterThan(15);
    const dump = JSON.stringify(rows);
    for (const s of secrets) if (leaks(dump, s)) throw new Error(`a secret reached upstream_calls (${secrets.indexOf(s)})`);
    for (const r of rows) {
      expect(r.request_body).toBeNull();
      expect(r.response_body).toBeNull();
    }
    const logoutRow = rows.find((r) => r.tracker === trkr);
    expect(logoutRow).toMatchObject({ operation: "logout", outcome: "ok", http_status: 200, request_id: callLine.requestId });
    expect(rows.some((r) => r.operation === "myProfile" && r.outcome === "timeout" && r.error_code === "UPSTREAM_TIMEOUT")).toBe(true);
    expect(rows.some((r) => r.operation === "myProfile" && r.outcome === "rejected" && r.error_code === "UPSTREAM_UNAUTHORIZED")).toBe(true);
  });
});

/**
 * Whether `secret` appears in `text` as a value of its own. Long secrets (random tokens, passwords,
 * Aadhaar numbers) cannot turn up by chance and are looked for anywhere. A short one (a 4-digit PIN,
 * a 6-digit OTP) must stand alone, not touching a letter, digit, hyphen, dot or underscore: inside a
 * 19-digit tracker, a UUID group or a duration it is chance, not a leak (the test used to fail in
 * about one run in 13 for that reason).
 */
function leaks(text: string, secret: string): boolean {
  if (secret.length >= 8) return text.includes(secret);
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![A-Za-z0-9._-])${escaped}(?![A-Za-z0-9._-])`).test(text);
}

describe("leaks (the check itself)", () => {
  it("finds a short secret standing alone and ignores it inside identifiers", () => {
    expect(leaks('{"pin":"7319"}', "7319")).toBe(true);
    expect(leaks("pin=7319 ", "7319")).toBe(true);
    expect(leaks("trkr 1234573190000000001", "7319")).toBe(false);
    expect(leaks("6ba99536-7319-4896-9312-e59e02074a65", "7319")).toBe(false);
    expect(leaks('"durationMs":17319.5', "7319")).toBe(false);
    expect(leaks("x Pw#1234-abcd y", "Pw#1234-abcd")).toBe(true);
  });
});

function safeParse(line: string): any {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}
