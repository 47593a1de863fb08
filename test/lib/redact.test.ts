import { describe, expect, it } from "vitest";
import { redact, redactString } from "../../src/lib/redact";

describe("redaction", () => {
  it("drops secret-named fields at any depth", () => {
    const out = redact({ client_secret: "s", nested: { accessToken: "t", otp: "123456", pin: "1234", aadhaar: "x", password: "p", name: "kept" } });
    expect(out).toEqual({ client_secret: "[REDACTED]", nested: { accessToken: "[REDACTED]", otp: "[REDACTED]", pin: "[REDACTED]", aadhaar: "[REDACTED]", password: "[REDACTED]", name: "kept" } });
  });
  it("masks Aadhaar-like numbers, bearer tokens and JWTs inside strings", () => {
    expect(redactString("uid 2345 6789 0123 here")).toBe("uid [AADHAAR] here");
    expect(redactString("Authorization: Bearer abc.def-ghi")).toBe("Authorization: Bearer [REDACTED]");
    expect(redactString("t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig")).toBe("t=[REDACTED]");
    expect(redactString("claim 4d0d8f3a-0b9b-4e7e-8b7a-9df4c4b3a6aa")).toBe("claim 4d0d8f3a-0b9b-4e7e-8b7a-9df4c4b3a6aa");
  });
});
