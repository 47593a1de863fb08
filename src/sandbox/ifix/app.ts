import { Hono } from "hono";

export interface IfixSandboxOptions {
  senderId?: string;
  privateKeyPem?: string;
  trustedKeys?: Record<string, string[]>;
}

// Placeholder until the ifix sandbox lands.
export function createIfixSandbox(_opts: IfixSandboxOptions = {}) {
  const app = new Hono();
  return { app };
}
