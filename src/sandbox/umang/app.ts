import { Hono } from "hono";

export interface UmangSandboxOptions {
  apiToken?: string;
  clientId?: string;
  clientSecret?: string;
}

// Placeholder until the umang sandbox lands.
export function createUmangSandbox(_opts: UmangSandboxOptions = {}) {
  const app = new Hono();
  return { app };
}
