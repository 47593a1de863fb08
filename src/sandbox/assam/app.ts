import { Hono } from "hono";

export interface AssamSandboxOptions {
  clientId?: string;
  clientSecret?: string;
}

// Placeholder until the assam sandbox lands.
export function createAssamSandbox(_opts: AssamSandboxOptions = {}) {
  const app = new Hono();
  return { app };
}
