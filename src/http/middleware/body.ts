import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { JsonSyntaxError, parseStrictJson } from "../../lib/json";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface BodyOptions {
  maxBytes?: number;
  /** Extra media types accepted besides JSON (e.g. the token endpoint's form encoding). */
  allowForm?: boolean;
}

/**
 * For requests with a body: 413 over the limit (checked on the bytes, not only Content-Length),
 * 415 unless JSON, 400 for malformed JSON. The parsed body is handed to the zod validators.
 */
export const jsonBody = (opts: BodyOptions = {}): MiddlewareHandler<AppEnv> => async (c, next) => {
  const method = c.req.method;
  if (method === "GET" || method === "HEAD" || method === "OPTIONS" || method === "DELETE") {
    if (method !== "DELETE" || !c.req.raw.body) return next();
  }
  const max = opts.maxBytes ?? MAX_BODY_BYTES;
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > max) throw new ApiError("PAYLOAD_TOO_LARGE", `body is over ${max} bytes`);

  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const isJson = type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
  const isForm = opts.allowForm && type === "application/x-www-form-urlencoded";
  const buf = await readLimited(c.req.raw, max);
  if (buf.byteLength === 0 && !type) {
    // A body-less POST (e.g. refresh, rotate) is fine; routes needing a body fail validation.
    c.set("jsonBody", {});
    return next();
  }
  if (!isJson && !isForm) throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
  const text = new TextDecoder().decode(buf);
  // Hono's validators read the body through this cache (it holds promises at run time).
  const cache = c.req.bodyCache as Record<string, Promise<unknown>>;
  cache.text = Promise.resolve(text);
  cache.arrayBuffer = Promise.resolve(buf);
  if (isForm) return next();
  let parsed: unknown;
  try {
    parsed = parseStrictJson(text);
  } catch (err) {
    const message = err instanceof JsonSyntaxError ? err.message : "malformed JSON";
    throw new ApiError("VALIDATION_FAILED", "the body is not valid JSON", { details: [{ path: "", message }] });
  }
  c.set("jsonBody", parsed);
  await next();
};

async function readLimited(req: Request, max: number): Promise<ArrayBuffer> {
  if (!req.body) return new ArrayBuffer(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new ApiError("PAYLOAD_TOO_LARGE", `body is over ${max} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.byteLength;
  }
  return out.buffer;
}
