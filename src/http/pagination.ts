import { z } from "@hono/zod-openapi";
import { GatewayError } from "./errors";
import { fromBase64, toBase64Url } from "../domain/security/crypto";

/** Opaque keyset cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(value: unknown): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(value)));
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(new TextDecoder().decode(fromBase64(cursor))));
    if (parsed.success) return parsed.data;
  } catch {
    /* fall through */
  }
  throw new GatewayError("VALIDATION_FAILED", "the cursor is not valid", { details: [{ path: "cursor", message: "not a cursor this API issued" }] });
}

export const limitParam = (max = 500, def = 50) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(def)
    .openapi({ param: { name: "limit", in: "query" }, example: def });

export const cursorParam = () =>
  z
    .string()
    .max(512)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } });

export const listOf = <T extends z.ZodTypeAny>(item: T, name: string) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
