import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";

const SAFE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Every response carries X-Request-Id: the caller's when it is safe to echo, else a new one. */
export const requestId = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const id = incoming && SAFE.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", id);
  c.header("X-Request-Id", id);
  await next();
  c.header("X-Request-Id", id);
};
