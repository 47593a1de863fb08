import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import { GatewayError } from "../errors";
import { checkCsrf, type ConsoleEnv } from "./session";
import { ACTIONS, can, type ConsoleAction } from "./roles";

const MAX_FORM_BYTES = 16 * 1024;
type C = Context<ConsoleEnv>;

/**
 * Form fields of a POST (urlencoded or multipart), size-limited. A field sent more than once (a
 * group of checkboxes) keeps every value, joined by newlines: read it with `multi`.
 */
export async function formOf(c: C): Promise<Record<string, string>> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_FORM_BYTES) throw new GatewayError("PAYLOAD_TOO_LARGE", "form too large");
  const contentType = c.req.header("content-type") ?? "";
  const type = contentType.split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded" && type !== "multipart/form-data") {
    throw new GatewayError("UNSUPPORTED_MEDIA_TYPE", "send the form as a web form");
  }
  // Read as bytes and stop at the limit: a chunked body without Content-Length cannot grow past it.
  const bytes = await readLimited(c.req.raw.body, MAX_FORM_BYTES);
  if (type === "multipart/form-data") {
    // A malformed multipart body (no boundary, broken parts) is the sender's error, not ours.
    const fd = await new Request("http://x", { method: "POST", headers: { "content-type": contentType }, body: bytes }).formData().catch(() => {
      throw new GatewayError("VALIDATION_FAILED", "the form could not be read");
    });
    const out: Record<string, string> = {};
    fd.forEach((v, k) => {
      if (typeof v === "string") add(out, k, v);
    });
    return out;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(new TextDecoder().decode(bytes))) add(out, k, v);
  return out;
}

const add = (out: Record<string, string>, k: string, v: string) => {
  out[k] = Object.hasOwn(out, k) ? `${out[k]}\n${v}` : v;
};

/** Every value of a field sent more than once (see formOf). */
export const multi = (form: Record<string, string>, key: string): string[] => (form[key] ? form[key].split("\n").filter(Boolean) : []);

async function readLimited(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new GatewayError("PAYLOAD_TOO_LARGE", "form too large");
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * A form post that changes something: the session's role must allow the action (403 otherwise,
 * before the body is read), then the CSRF token must match (403). Every console POST but sign-in
 * and sign-out goes through this.
 */
export const allow =
  (action: ConsoleAction): MiddlewareHandler<ConsoleEnv> =>
  async (c, next) => {
    const session = c.get("session");
    if (!session || !can(session.role, action)) {
      throw new GatewayError("FORBIDDEN", `your role (${session?.role ?? "none"}) may not do this: it needs the ${ACTIONS[action]} role`);
    }
    await next();
  };

/** The form of a signed-in POST, its CSRF token checked (403 otherwise). */
export async function protectedForm(c: C): Promise<Record<string, string>> {
  const form = await formOf(c);
  if (!checkCsrf(c, form)) throw new GatewayError("FORBIDDEN", "the form's CSRF token is missing or wrong: reload the page and try again");
  return form;
}

/** datetime-local inputs carry no offset: operators enter IST. */
export const istInput = (v: string | undefined) =>
  v && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(v) ? `${v}${v.length === 16 ? ":00" : ""}+05:30` : v;

export const pick = (q: Record<string, string>, keys: string[]) => {
  const out: Record<string, string> = {};
  for (const k of keys) if (q[k] !== undefined && q[k] !== "") out[k] = q[k];
  return out;
};

export const zodMessage = (e: z.ZodError) => e.issues.map((i) => `${i.path.join(".") || "filter"}: ${i.message}`).join("; ");
