import { describe, expect, it } from "vitest";
import { isValidAadhaar, verhoeffCheckDigit, verhoeffValid } from "../../src/domain/health/verhoeff";
import { failureCode, parseFailurePd } from "../../src/adapters/umang/errors";
import { readHealthToken } from "../../src/domain/health/health-token";
import { newTracker } from "../../src/adapters/umang/envelope";
import { SEED_FAILURES } from "../../src/sandbox/umang/seed-fixtures";
import { isFresh, refreshMarginMs } from "../../src/durable-objects/token-broker";

describe("Verhoeff", () => {
  it("accepts numbers with their check digit and the seed's example Aadhaar", () => {
    expect(verhoeffValid("2363")).toBe(true); // the textbook example: 236 → 3
    expect(verhoeffCheckDigit("236")).toBe(3);
    expect(isValidAadhaar("694704838997")).toBe(true);
    expect(isValidAadhaar("4996 1234 5671")).toBe(true);
  });

  it("detects every single-digit error and every adjacent transposition of a valid number", () => {
    const valid = "499612345671";
    for (let i = 0; i < valid.length; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === valid[i]) continue;
        expect(verhoeffValid(valid.slice(0, i) + d + valid.slice(i + 1))).toBe(false);
      }
      if (i + 1 < valid.length && valid[i] !== valid[i + 1]) {
        expect(verhoeffValid(valid.slice(0, i) + valid[i + 1] + valid[i] + valid.slice(i + 2))).toBe(false);
      }
    }
  });

  it("rejects what is not an Aadhaar number", () => {
    for (const bad of ["", "12345678901", "1234567890123", "099612345671", "199612345670", "abcd1234efgh"]) expect(isValidAadhaar(bad)).toBe(false);
    // generated valid numbers pass
    for (const base of ["23456789012", "98765432109", "50000000000"]) expect(isValidAadhaar(base + verhoeffCheckDigit(base))).toBe(true);
  });
});

describe("the pd failure strings", () => {
  it("parses every failure example of the seed", () => {
    const parsed = Object.fromEntries(Object.entries(SEED_FAILURES).map(([op, pd]) => [op, parseFailurePd(pd)]));
    expect(parsed["patientLockers#2"]).toEqual({ status: 404, code: 1417, message: "Cannot find locker setup for user" });
    expect(parsed.changePin).toEqual({ status: 401, code: null, message: "Unauthorized" });
    expect(parsed.initializeAuthentication).toEqual({ status: 403, code: 1401, message: "Token with invalid access role" });
    expect(parsed.approveAuthorizationRequests).toEqual({ status: 409, code: 1411, message: "Authorization request is not in REQUESTED state" });
    expect(parsed.createPin).toEqual({ status: 400, code: 1424, message: "Transaction pin is already created" });
    for (const [op, p] of Object.entries(parsed)) expect(p, op).not.toBeNull();
  });

  it("maps statuses as CONTRACT §6 says", () => {
    expect([401, 403, 404, 409, 400, 422, 429, 500].map(failureCode)).toEqual([
      "UPSTREAM_UNAUTHORIZED",
      "UPSTREAM_FORBIDDEN",
      "UPSTREAM_NOT_FOUND",
      "UPSTREAM_CONFLICT",
      "UPSTREAM_REJECTED",
      "UPSTREAM_REJECTED",
      "UPSTREAM_REJECTED",
      "UPSTREAM_REJECTED",
    ]);
  });

  it("reads the variants: no body, a bare object, an unparsable body; not a failure string → null", () => {
    expect(parseFailurePd('400 Bad Request: {"error":{"code":1,"message":"m"}}')).toEqual({ status: 400, code: 1, message: "m" });
    expect(parseFailurePd("400 Bad Request: [garbled")).toEqual({ status: 400, code: null, message: "Bad Request" });
    expect(parseFailurePd("403 Forbidden: []")).toEqual({ status: 403, code: null, message: "Forbidden" });
    expect(parseFailurePd(null)).toBeNull();
    expect(parseFailurePd("Sorry, department returned no results")).toBeNull();
    expect(parseFailurePd({ error: 1 })).toBeNull();
  });

  it("reads adversarial pd strings in one pass (issue 15 item 19: the old regex backtracked cubically on whitespace)", () => {
    // The regex this replaced needed ~n³ steps on these (n = 4,000 spaces took over half a minute);
    // the scanner looks at each character once, so 200,000 characters are nothing. The assertions are
    // on the answers: a hang would fail the test through its timeout, never a timing threshold.
    const n = 200_000;
    const spaces = " ".repeat(n);
    expect(parseFailurePd(`400${spaces}x`)).toBeNull();
    expect(parseFailurePd(`${spaces}400${spaces}Bad Request${spaces}`)).toBeNull();
    expect(parseFailurePd(`400 ${"\t \n".repeat(n / 3)}[no colon`)).toBeNull();
    expect(parseFailurePd(`${spaces}404${spaces}Not Found${spaces}:${spaces}[no body]${spaces}`)).toEqual({
      status: 404,
      code: null,
      message: "Not Found",
    });
    const long = parseFailurePd(`400 Bad Request: [{"error":{"code":7,"message":"${"m ".repeat(n)}"}}]`);
    expect(long).toMatchObject({ status: 400, code: 7 });
    expect(long!.message.length).toBeLessThanOrEqual(501);
  });

  it("never carries an Aadhaar-like number or a bearer token from the portal's message into an error", () => {
    const p = parseFailurePd('400 Bad Request: [{"error":{"code":9,"message":"bad aadhaar 4996 1234 5671 for Bearer abc.def"}}]');
    expect(p!.message).not.toContain("4996");
    expect(p!.message).not.toContain("abc.def");
  });
});

describe("upstream token freshness (shared by Assam and UMANG)", () => {
  const token = (lifeSeconds: number, issuedAt = 1_000_000) => ({ token: "t", issuedAt, expiresAt: issuedAt + lifeSeconds * 1000 });

  it("keeps a margin of a tenth of the token's life, at most 60 s", () => {
    expect(refreshMarginMs(token(20))).toBe(2_000);
    expect(refreshMarginMs(token(5))).toBe(500);
    expect(refreshMarginMs(token(600))).toBe(60_000);
    expect(refreshMarginMs(token(3600))).toBe(60_000);
    // A value written before issuedAt was kept: the most cautious margin.
    expect(refreshMarginMs({ token: "t", expiresAt: 2_000_000 })).toBe(60_000);
  });

  it("a 20 s token is fresh for 18 s after it is fetched, a 10-minute one for 9 minutes", () => {
    const t20 = token(20);
    expect(isFresh(t20, t20.issuedAt)).toBe(true);
    expect(isFresh(t20, t20.issuedAt + 17_999)).toBe(true);
    expect(isFresh(t20, t20.issuedAt + 18_000)).toBe(false);
    const t600 = token(600);
    expect(isFresh(t600, t600.issuedAt + 539_999)).toBe(true);
    expect(isFresh(t600, t600.issuedAt + 540_000)).toBe(false);
    expect(isFresh(null)).toBe(false);
    expect(isFresh({ token: "t" } as never)).toBe(false);
  });
});

describe("small pieces", () => {
  it("X-Health-Token with or without Bearer", () => {
    expect(readHealthToken("Bearer abc.def-ghi")).toBe("abc.def-ghi");
    expect(readHealthToken("bearer  abc")).toBe("abc");
    expect(readHealthToken("abc")).toBe("abc");
    expect(() => readHealthToken(undefined)).toThrow();
    expect(() => readHealthToken("a b")).toThrow();
    expect(() => readHealthToken("Bearer ")).toThrow();
    expect(() => readHealthToken("Bearer")).toThrow();
  });

  it("trackers are unique numeric strings", () => {
    const n = 5000;
    const set = new Set(Array.from({ length: n }, () => newTracker()));
    expect(set.size).toBe(n);
    for (const t of [...set].slice(0, 10)) {
      expect(t).toMatch(/^\d{19}$/);
      expect(BigInt(t) < 2n ** 63n).toBe(true);
    }
  });
});
