import { GatewayError } from "../errors";

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

/**
 * The runtime gave a number without its source text (a JSON.parse without source-text access): the
 * literal cannot be checked, so the body is refused rather than read inexactly (fails closed). A
 * fault of the deployment's runtime, not of the caller: 503.
 */
export class ExactNumbersUnavailable extends GatewayError {
  constructor() {
    super("UNAVAILABLE", "this runtime cannot check number literals exactly (JSON.parse source text access); nothing was applied");
  }
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** `parse` is JSON.parse; tests pass one without source-text access to show the refusal. */
export function parseStrictJson(text: string, parse: (text: string, reviver: Reviver) => unknown = JSON.parse as never): unknown {
  try {
    return parse(text, function (this: unknown, key: string, value: unknown, context?: { source?: string }) {
      if (typeof value === "number") {
        if (typeof context?.source !== "string") throw new ExactNumbersUnavailable();
        if (canonicalLiteral(context.source) !== canonicalLiteral(String(value))) {
          throw new JsonSyntaxError(`number ${context.source.slice(0, 40)} cannot be represented exactly`, key);
        }
      }
      return value;
    });
  } catch (err) {
    if (err instanceof JsonSyntaxError || err instanceof ExactNumbersUnavailable) throw err;
    throw new JsonSyntaxError("malformed JSON");
  }
}
