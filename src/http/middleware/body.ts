import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../context";
import { GatewayError } from "../errors";
import { JsonSyntaxError, parseStrictJson } from "../../lib/json";

export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = (max: number) => new GatewayError("PAYLOAD_TOO_LARGE", `body is over ${max} bytes`);

/**
 * Reads a request body up to `max` bytes from its stream, stopping (and cancelling the stream) at
 * the first chunk past the limit: a chunked body is never read whole first. Null when it is over.
 */
export async function readLimited(req: Request, max: number): Promise<Uint8Array | null> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.byteLength;
  }
  return out;
}

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json$/;

/**
 * For requests with a body: 413 over the limit (Hono's bodyLimit: the declared length, or the
 * streamed bytes when there is none), 415 unless JSON, 400 for malformed JSON or a number whose
 * literal a double cannot hold exactly. The body is read once through Hono's own request API, so
 * the route's validators read the same text; the strictly parsed value is `c.get("jsonBody")`.
 * A body-less request (no bytes, no Content-Type) passes: routes needing a body fail validation.
 */
export const jsonBody = (opts: { maxBytes?: number } = {}): MiddlewareHandler<AppEnv> => {
  const max = opts.maxBytes ?? MAX_BODY_BYTES;
  const limit = bodyLimit({
    maxSize: max,
    onError: () => {
      throw tooLarge(max);
    },
  });
  return async (c, next) => {
    const method = c.req.method;
    if ((method === "GET" || method === "HEAD" || method === "OPTIONS" || method === "DELETE") && !c.req.raw.body) return next();
    return limit(c, async () => {
      const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
      const text = await c.req.text();
      if (text.length === 0 && !type) return next();
      if (!JSON_TYPE.test(type)) throw new GatewayError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
      try {
        c.set("jsonBody", parseStrictJson(text));
      } catch (err) {
        if (err instanceof GatewayError) throw err; // ExactNumbersUnavailable: the runtime's fault, 503
        const message = err instanceof JsonSyntaxError ? err.message : "malformed JSON";
        throw new GatewayError("VALIDATION_FAILED", "the body is not valid JSON", { details: [{ path: "", message }] });
      }
      await next();
    });
  };
};
