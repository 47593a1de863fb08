import { SEED_REQUESTS } from "./seed-requests";

/**
 * Checks a request body against the seed's request examples for its op: every field must be one the
 * seed shows for that op, with the JSON type the seed shows (recursively: a nested object may carry
 * only the seed's keys; an array's items follow the seed's first item), and the seed's top-level
 * fields must all be there, but for the few listed below. The seed's examples read like Swagger
 * samples ("text": "string"), which list every field of a schema: a field they leave out is not one.
 */

/** Top-level fields a body may leave out, each with the reason the sandbox allows it. */
const OPTIONAL: Record<string, { fields: string[]; why: string }> = {
  listProviders: { fields: ["districtCode"], why: "ABDM's provider search filters by district only when one is given" },
  logout: { fields: ["refreshToken"], why: "no op of the seed gives a user a refresh token to send back" },
  approveLockerRequests: { fields: ["subscription", "autoApproval", "authorization"], why: "each part of a locker setup is approved on its own" },
};

/**
 * Values accepted besides the seed's type, each a deliberate departure of the gateway's (commented
 * where the gateway builds the field).
 */
const ALSO_ACCEPTED: Record<string, (v: unknown) => boolean> = {
  // The seed sends a JSON number; a digit string keeps an OTP's leading zeros.
  "authenticationConfirm.authCode": (v) => typeof v === "string" && /^\d{4,8}$/.test(v),
};

/** Forms the seed does not show, invented by the sandbox (marked): the session's refresh grant. */
const INVENTED: Record<string, Record<string, unknown>[]> = {
  session: [{ clientId: "", clientSecret: "", grantType: "refresh_token", refreshToken: "" }],
};

const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

function conforms(value: unknown, example: unknown, path: string): string | null {
  if (example === null) return null; // the seed shows null: any value
  if (kind(value) !== kind(example))
    return `${path} must be ${kind(example) === "object" ? "an object" : kind(example) === "array" ? "an array" : `a ${kind(example)}`}`;
  if (Array.isArray(example)) {
    const items = value as unknown[];
    if (example.length === 0) return null;
    for (let i = 0; i < items.length; i++) {
      const p = conforms(items[i], example[0], `${path}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (kind(example) === "object") {
    const shape = example as Record<string, unknown>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!(k in shape)) return `${path}.${k} is not a field of this object in seed 001`;
      const p = conforms(v, shape[k], `${path}.${k}`);
      if (p) return p;
    }
  }
  return null;
}

function formProblem(op: string, form: Record<string, unknown>, body: Record<string, unknown>): string | null {
  const optional = OPTIONAL[op]?.fields ?? [];
  for (const k of Object.keys(form)) if (!(k in body) && !optional.includes(k)) return `${k} is required`;
  for (const [k, v] of Object.entries(body)) {
    if (!(k in form)) return `${k} is not a field of ${op} in seed 001`;
    if (ALSO_ACCEPTED[`${op}.${k}`]?.(v)) continue;
    const p = conforms(v, form[k], k);
    if (p) return p;
  }
  return null;
}

/** null when the body matches one of the op's forms; else why not (against the closest form). */
export function seedShapeProblem(op: string, body: Record<string, unknown>): string | null {
  const forms = [...(SEED_REQUESTS[op] ?? []), ...(SEED_REQUESTS[`${op}#2`] ?? []), ...(INVENTED[op] ?? [])];
  if (forms.length === 0) return null; // not an op of the seed: the sandbox answers PE002 itself
  let best: { problem: string; overlap: number } | null = null;
  for (const form of forms) {
    const problem = formProblem(op, form, body);
    if (!problem) return null;
    const overlap = Object.keys(body).filter((k) => k in form).length;
    if (!best || overlap > best.overlap) best = { problem, overlap };
  }
  return best!.problem;
}
