import { describe, expect, it } from "vitest";
import { canonicalize, JcsError } from "../../src/adapters/ifix/jcs";

const fromBits = (hex: string) => {
  const v = new DataView(new ArrayBuffer(8));
  v.setBigUint64(0, BigInt(`0x${hex}`));
  return v.getFloat64(0);
};

describe("JCS (RFC 8785)", () => {
  it("canonicalizes the RFC's §3.2.2 example exactly", () => {
    // The input as the RFC writes it (numbers as literals, escapes in the string).
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts keys by UTF-16 code units (RFC §3.2.3 example)", () => {
    const input = {
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis",
    };
    const out = canonicalize(input);
    const order = [...out.matchAll(/"([^"]*)":"([^"]*)"/g)].map((m) => m[2]);
    expect(order).toEqual([
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
    ]);
    expect(out.startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')).toBe(true);
  });

  it("serializes numbers as ECMAScript does (RFC Appendix B)", () => {
    const cases: [string, string][] = [
      ["0000000000000000", "0"],
      ["8000000000000000", "0"],
      ["0000000000000001", "5e-324"],
      ["8000000000000001", "-5e-324"],
      ["7fefffffffffffff", "1.7976931348623157e+308"],
      ["ffefffffffffffff", "-1.7976931348623157e+308"],
      ["4340000000000000", "9007199254740992"],
      ["c340000000000000", "-9007199254740992"],
      ["4430000000000000", "295147905179352830000"],
      ["44b52d02c7e14af5", "9.999999999999997e+22"],
      ["44b52d02c7e14af6", "1e+23"],
      ["44b52d02c7e14af7", "1.0000000000000001e+23"],
      ["444b1ae4d6e2ef4e", "999999999999999700000"],
      ["444b1ae4d6e2ef4f", "999999999999999900000"],
      ["444b1ae4d6e2ef50", "1e+21"],
      ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
      ["3eb0c6f7a0b5ed8d", "0.000001"],
      ["41b3de4355555553", "333333333.3333332"],
      ["41b3de4355555554", "333333333.33333325"],
      ["41b3de4355555555", "333333333.3333333"],
      ["41b3de4355555556", "333333333.3333334"],
      ["41b3de4355555557", "333333333.33333343"],
      ["becbf647612f3696", "-0.0000033333333333333333"],
      ["43143ff3c1cb0959", "1424953923781206.2"],
    ];
    for (const [bits, expected] of cases) expect(canonicalize(fromBits(bits)), bits).toBe(expected);
  });

  it("refuses what I-JSON forbids: NaN, Infinity, lone surrogates", () => {
    expect(() => canonicalize(fromBits("7fffffffffffffff"))).toThrow(JcsError);
    expect(() => canonicalize(fromBits("7ff0000000000000"))).toThrow(JcsError);
    expect(() => canonicalize({ a: "\ud800" })).toThrow(JcsError);
    expect(() => canonicalize({ "\udc00": 1 })).toThrow(JcsError);
  });

  it("is independent of key order and whitespace, and escapes controls in lowercase hex", () => {
    const a = JSON.parse('{ "b": [1, {"y": 2, "x": 1}], "a": "\\u001f\\b\\t\\n\\f\\r" }');
    const b = JSON.parse('{"a":"\\u001F\\b\\t\\n\\f\\r","b":[1,{"x":1,"y":2}]}');
    expect(canonicalize(a)).toBe(canonicalize(b));
    expect(canonicalize(a)).toBe('{"a":"\\u001f\\b\\t\\n\\f\\r","b":[1,{"x":1,"y":2}]}');
  });
});
