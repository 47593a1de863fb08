import { describe, expect, it } from "vitest";
import { paiseToRupees, rupeesToPaise } from "../../src/lib/money";
import { ExactNumbersUnavailable, parseStrictJson } from "../../src/lib/json";

describe("money is integer paise", () => {
  it("reads rupee literals with up to two decimals exactly", () => {
    expect(rupeesToPaise(parseStrictJson("300") as number)).toBe(30000);
    expect(rupeesToPaise(parseStrictJson("0.1") as number)).toBe(10);
    expect(rupeesToPaise(parseStrictJson("10.50") as number)).toBe(1050);
    expect(rupeesToPaise(parseStrictJson("1e2") as number)).toBe(10000);
    expect(rupeesToPaise(parseStrictJson("0.29") as number)).toBe(29); // 0.29 * 100 is 28.999999999999996 in floats
    expect(rupeesToPaise(parseStrictJson("1234567890.99") as number)).toBe(123456789099);
  });

  it("refuses more decimals, negatives and non-numbers", () => {
    expect(rupeesToPaise(10.005)).toBeNull();
    expect(rupeesToPaise(-1)).toBeNull();
    expect(rupeesToPaise(Number.NaN)).toBeNull();
    expect(rupeesToPaise(Number.POSITIVE_INFINITY)).toBeNull();
    expect(rupeesToPaise(1e-7)).toBeNull();
    expect(rupeesToPaise("10" as unknown as number)).toBeNull();
  });

  it("answers paise as rupee numbers built from digits", () => {
    expect(paiseToRupees(29)).toBe(0.29);
    expect(paiseToRupees(30000)).toBe(300);
    expect(paiseToRupees(123456789099)).toBe(1234567890.99);
    expect(JSON.stringify({ a: paiseToRupees(1050) })).toBe('{"a":10.5}');
  });
});

describe("strict JSON numbers", () => {
  it("refuses literals a double cannot hold exactly", () => {
    expect(() => parseStrictJson("10.0000000000000000001")).toThrow(/exactly/);
    expect(() => parseStrictJson("12345678901234567890")).toThrow(/exactly/);
    expect(() => parseStrictJson("{")).toThrow(/malformed/);
  });
  it("accepts every ordinary literal", () => {
    expect(parseStrictJson('{"a":[1,2.5,-3,0.1,1e3,10.50,0]}')).toEqual({ a: [1, 2.5, -3, 0.1, 1000, 10.5, 0] });
  });
});

describe("the exact-number check fails closed (issue 12)", () => {
  it("refuses a body with numbers when the runtime's JSON.parse gives no source text, and reads one without", () => {
    // A JSON.parse as runtimes without source-text access call the reviver: no third argument.
    const withoutSource = (text: string, reviver: (key: string, value: unknown) => unknown) => JSON.parse(text, (k, v) => reviver(k, v));
    expect(() => parseStrictJson('{"amount": 12.5}', withoutSource)).toThrow(ExactNumbersUnavailable);
    expect(parseStrictJson('{"name": "x", "ok": true}', withoutSource)).toEqual({ name: "x", ok: true });
    // This runtime has it: the same body is read.
    expect(parseStrictJson('{"amount": 12.5}')).toEqual({ amount: 12.5 });
  });
});
