import { describe, expect, it } from "vitest";
import { redact, redactString } from "../../src/lib/redact";

describe("redaction", () => {
  it("drops secret-named fields at any depth", () => {
    const out = redact({ client_secret: "s", nested: { accessToken: "t", otp: "123456", pin: "1234", aadhaar: "x", password: "p", name: "kept" } });
    expect(out).toEqual({
      client_secret: "[REDACTED]",
      nested: { accessToken: "[REDACTED]", otp: "[REDACTED]", pin: "[REDACTED]", aadhaar: "[REDACTED]", password: "[REDACTED]", name: "kept" },
    });
  });

  it("masks Aadhaar numbers written alone, grouped or not, bearer tokens and JWTs inside strings", () => {
    expect(redactString("uid 2345 6789 0123 here")).toBe("uid [AADHAAR] here");
    expect(redactString("uid 2345-6789-0123.")).toBe("uid [AADHAAR].");
    expect(redactString('{"aadhaar":"234567890123"}')).toBe('{"aadhaar":"[AADHAAR]"}');
    expect(redactString("(234567890123)")).toBe("([AADHAAR])");
    expect(redactString("Authorization: Bearer abc.def-ghi")).toBe("Authorization: Bearer [REDACTED]");
    expect(redactString("t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig")).toBe("t=[REDACTED]");
  });

  it("leaves UUIDs, trackers and other identifiers whole, whatever their digits", () => {
    // The request id that used to be logged as 6ba99536-[AADHAAR]-e59e02074a65 (issue 15, item 13).
    for (const id of [
      "6ba99536-4030-4896-9312-e59e02074a65",
      "4d0d8f3a-0b9b-4e7e-8b7a-9df4c4b3a6aa",
      "12345678-1234-1234-1234-123456789012",
      "AS-ASHA-123456789012",
      "1234567890123456789",
      "trkr=9876543210987654321",
    ]) {
      expect(redactString(`id ${id} end`)).toBe(`id ${id} end`);
    }
  });

  it("keeps every UUID whole: a sweep over 2,000 with digit-only middle groups", () => {
    const group = (n: number) => String(n % 10_000).padStart(4, "0");
    for (let i = 0; i < 2_000; i++) {
      const id = `6ba99536-${group(i * 7919)}-${group(i * 104_729)}-${group(i * 1_299_709)}-e59e02074a65`;
      expect(redactString(id)).toBe(id);
      expect(redactString(`{"requestId":"${id}"}`)).toBe(`{"requestId":"${id}"}`);
    }
  });
});
