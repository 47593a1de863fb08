/**
 * Money is integer paise inside (CONTRACT §3). Amounts arrive as JSON numbers in rupees with at most
 * two decimals. `parseStrictJson` guarantees every number's literal is exactly the double's shortest
 * representation, so reading that representation as a decimal string reads the caller's literal:
 * no floating-point arithmetic is ever done on an amount.
 */
const RUPEES = /^(\d+)(?:\.(\d{1,2}))?$/;

export const MAX_PAISE = Number.MAX_SAFE_INTEGER;

/** Rupees (a JSON number) to paise, or null when negative, non-finite, or with over two decimals. */
export function rupeesToPaise(value: number): number | null {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return null;
  const literal = decimalString(value);
  const m = RUPEES.exec(literal);
  if (!m) return null;
  const whole = m[1];
  const frac = (m[2] ?? "").padEnd(2, "0");
  if (whole.length > 13) return null; // keeps paise well inside Number.MAX_SAFE_INTEGER
  return Number(whole) * 100 + Number(frac);
}

/** Paise to a JSON number in rupees, built from its decimal digits. */
export function paiseToRupees(paise: number): number {
  if (!Number.isSafeInteger(paise)) throw new RangeError("paise must be a safe integer");
  const sign = paise < 0 ? "-" : "";
  const abs = Math.abs(paise);
  const whole = Math.trunc(abs / 100);
  const frac = abs % 100;
  return Number(`${sign}${whole}.${String(frac).padStart(2, "0")}`);
}

/** Whole rupees to paise (the Assam portal takes integers). */
export const wholeRupeesToPaise = (rupees: number): number => rupees * 100;

/** The positional decimal form of a finite double (String() may use exponent notation). */
function decimalString(value: number): string {
  const s = String(value);
  if (!/e/i.test(s)) return s;
  const [mantissa, expStr] = s.toLowerCase().split("e");
  const exp = Number(expStr);
  const [intPart, fracPart = ""] = mantissa.split(".");
  const digits = intPart + fracPart;
  const point = intPart.length + exp;
  if (point <= 0) return `0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + "0".repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}
