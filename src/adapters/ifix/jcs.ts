/**
 * JSON Canonicalization Scheme (RFC 8785): object members sorted by their names' UTF-16 code units,
 * no whitespace, numbers as ECMAScript's Number-to-String (JSON.stringify of a finite number), strings
 * with only the escapes JSON requires (\b \t \n \f \r, \" \\, other controls as lowercase \u00xx).
 * Input must be I-JSON: non-finite numbers and lone surrogates are refused.
 */
export class JcsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JcsError";
  }
}

export function canonicalize(value: unknown): string {
  const out: string[] = [];
  write(value, out, 0);
  return out.join("");
}

function write(value: unknown, out: string[], depth: number): void {
  if (depth > 64) throw new JcsError("nesting too deep");
  if (value === null) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value)) throw new JcsError("non-finite number");
      // ECMAScript Number::toString, as RFC 8785 §3.2.2.3 prescribes; -0 serialises as 0.
      out.push(JSON.stringify(value));
      return;
    case "string":
      out.push(serializeString(value));
      return;
    case "object": {
      if (Array.isArray(value)) {
        out.push("[");
        value.forEach((v, i) => {
          if (i) out.push(",");
          write(v === undefined || typeof v === "function" ? null : v, out, depth + 1);
        });
        out.push("]");
        return;
      }
      const obj = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, exactly what RFC 8785 §3.2.3 asks.
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined && typeof obj[k] !== "function")
        .sort();
      out.push("{");
      keys.forEach((k, i) => {
        if (i) out.push(",");
        out.push(serializeString(k), ":");
        write(obj[k], out, depth + 1);
      });
      out.push("}");
      return;
    }
    default:
      throw new JcsError(`cannot canonicalize a ${typeof value}`);
  }
}

const ESCAPES: Record<number, string> = { 0x08: "\\b", 0x09: "\\t", 0x0a: "\\n", 0x0c: "\\f", 0x0d: "\\r", 0x22: '\\"', 0x5c: "\\\\" };

function serializeString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const esc = ESCAPES[c];
    if (esc) out += esc;
    else if (c < 0x20) out += "\\u" + c.toString(16).padStart(4, "0");
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new JcsError("lone surrogate in string");
      out += s[i] + s[i + 1];
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) throw new JcsError("lone surrogate in string");
    else out += s[i];
  }
  return out + '"';
}
