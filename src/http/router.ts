import { OpenAPIHono, type Hook, type RouteConfig } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { GatewayError } from "./errors";
import { authOptionsOf, type AuthOptions } from "./middleware/auth";

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

/**
 * The OpenAPI security of a route guarded by `requireAuth(opts)`: each scope that admits a client
 * (with any scope it also requires) is one OAuth2 alternative; a client's API key carries the
 * client's scopes too, and the admin key is an API key of its own.
 */
export function securityFor(opts: AuthOptions): Array<Record<string, string[]>> {
  const alternatives: Array<Record<string, string[]>> = (opts.scopes ?? []).map((s) => ({ oauth2: [s, ...(opts.alsoRequires ?? [])] }));
  if (alternatives.length) alternatives.push({ apiKey: [] });
  if (opts.admin !== false) alternatives.push({ adminKey: [] });
  return alternatives;
}

/**
 * Scopes as the operation's `x-scopes` extension: any one of `anyScope`, plus every one of
 * `everyScope`. (Not `anyOf`/`allOf`: schema tools such as openapi-typescript walk those keys as
 * schemas wherever they appear, extensions included, and fail on a list of strings.)
 */
const scopesExtension = (opts: AuthOptions) => ({ anyScope: opts.scopes ?? [], everyScope: opts.alsoRequires ?? [], adminKey: opts.admin !== false });

/**
 * Every router is built here so the same validation hook applies everywhere, and so that a route's
 * documented security is read from the `requireAuth` middleware that enforces it (never written twice).
 */
export const createRouter = () => {
  const app = new OpenAPIHono<AppEnv>({ defaultHook });
  const register = app.openapi;
  app.openapi = ((route: RouteConfig, ...rest: unknown[]) => {
    const middleware = route.middleware === undefined ? [] : Array.isArray(route.middleware) ? route.middleware : [route.middleware];
    const auth = middleware.map(authOptionsOf).find((o) => o !== undefined);
    const documented = auth ? { ...route, security: securityFor(auth), "x-scopes": scopesExtension(auth) } : route;
    return (register as (...a: unknown[]) => unknown)(documented, ...rest);
  }) as typeof app.openapi;
  return app;
};
export type Router = ReturnType<typeof createRouter>;

/** Security requirement for routes that take a caller token or API key (OpenAPI). */
export const callerSecurity = [{ bearerAuth: [] }, { apiKey: [] }];
export const adminSecurity = [{ apiKey: [] }];
