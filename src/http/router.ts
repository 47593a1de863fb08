import { OpenAPIHono, type Hook } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { GatewayError } from "./errors";

/** Turns zod issues into the `details` of a 400 VALIDATION_FAILED. */
export function zodDetails(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string; code?: string; keys?: string[] }>) {
  return issues.flatMap((i) => {
    const base = i.path.map(String).join(".");
    if (i.code === "unrecognized_keys" && i.keys?.length) {
      return i.keys.map((k) => ({ path: base ? `${base}.${k}` : k, message: "unknown field" }));
    }
    return [{ path: base, message: i.message }];
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const defaultHook: Hook<any, AppEnv, any, any> = (result) => {
  if (!result.success) {
    throw new GatewayError("VALIDATION_FAILED", "the request is not valid", { details: zodDetails(result.error.issues) });
  }
};

/** Every router is built here so the same validation hook applies everywhere. */
export const createRouter = () => new OpenAPIHono<AppEnv>({ defaultHook });
export type Router = ReturnType<typeof createRouter>;

/** Security requirement for routes that take a caller token or API key (OpenAPI). */
export const callerSecurity = [{ bearerAuth: [] }, { apiKey: [] }];
export const adminSecurity = [{ apiKey: [] }];
