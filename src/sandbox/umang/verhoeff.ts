/**
 * The sandbox's own Aadhaar check, written from the public definitions (UIDAI: 12 digits, the first
 * 2–9, the last a Verhoeff check digit; Verhoeff 1969: the dihedral group D5 and the permutation
 * σ = (0 1 5 8 9 4 2 7)(3 6)). It shares nothing with the gateway's check, so a mistake in one is
 * caught by the other.
 */

const mod5 = (x: number) => ((x % 5) + 5) % 5;

/** Composition in D5: 0–4 are the rotations, 5–9 the reflections. */
function d5(j: number, k: number): number {
  if (j < 5) return k < 5 ? mod5(j + k) : 5 + mod5(j + k);
  return k < 5 ? 5 + mod5(j - k) : mod5(j - k);
}

const SIGMA = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4];

/** σ applied `times` times to `digit`. */
function permute(times: number, digit: number): number {
  let v = digit;
  for (let t = 0; t < times; t++) v = SIGMA[v];
  return v;
}

/** Whether the digits, check digit last, pass Verhoeff's check. */
export function passesVerhoeff(digits: string): boolean {
  let c = 0;
  for (let i = 0; i < digits.length; i++) {
    const digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (digit < 0 || digit > 9) return false;
    c = d5(c, permute(i % 8, digit));
  }
  return c === 0;
}

/** An Aadhaar number as UIDAI issues them (spaces between the groups of four allowed). */
export function isAadhaarNumber(value: string): boolean {
  const digits = value.replace(/ /g, "");
  return /^[2-9][0-9]{11}$/.test(digits) && passesVerhoeff(digits);
}
