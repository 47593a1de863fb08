import { describe, expect, it } from "vitest";
import { hmacSha256Hex, sha256Hex, toHex } from "../../src/domain/security/crypto";

describe("hex digests", () => {
  it("toHex writes every byte value as two lower-case digits, in order", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const hex = toHex(all);
    expect(hex).toHaveLength(512);
    for (let i = 0; i < 256; i++) expect(Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)).toBe(i);
    expect(hex).toBe(hex.toLowerCase());
    expect(toHex(all.buffer)).toBe(hex);
    expect(toHex(new Uint8Array(0))).toBe("");
  });

  it("sha256Hex and hmacSha256Hex match published test vectors (FIPS 180-2, RFC 4231 case 2)", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await hmacSha256Hex("Jefe", "what do ya want for nothing?")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });
});
