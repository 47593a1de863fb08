/**
 * JSON parsing that refuses numbers whose literal a double cannot hold exactly (e.g.
 * 10.0000000000000000001 or 12345678901234567890), using JSON.parse source-text access. After it,
 * String(number) is the caller's literal up to trailing zeros, which money parsing relies on.
 */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = "JsonSyntaxError";
  }
}

function canonicalLiteral(literal: string): string {
  let s = literal.toLowerCase();
  let sign = "";
  if (s.startsWith("-")) {
    sign = "-";
    s = s.slice(1);
  }
  let exp = 0;
  const e = s.indexOf("e");
  if (e >= 0) {
    exp = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const [intPart, fracPart = ""] = s.split(".");
  let digits = (intPart + fracPart).replace(/^0+/, "");
  const lead = (intPart + fracPart).length - digits.length;
  let point = intPart.length + exp - lead;
  digits = digits.replace(/0+$/, "");
  if (digits === "") return "0";
  return `${sign}${digits}@${point}`;
}

export function parseStrictJson(text: string): unknown {
  try {
    return JSON.parse(text, function (this: unknown, key: string, value: unknown, context?: { source?: string }) {
      if (typeof value === "number" && context && typeof context.source === "string") {
        if (canonicalLiteral(context.source) !== canonicalLiteral(String(value))) {
          throw new JsonSyntaxError(`number ${context.source.slice(0, 40)} cannot be represented exactly`, key);
        }
      }
      return value;
    } as (key: string, value: unknown) => unknown);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw err;
    throw new JsonSyntaxError("malformed JSON");
  }
}
