import type { Env as GatewayEnv } from "../src/env";

// The Worker's own Env (generated bindings + optional secrets) plus what vitest.config.ts adds for tests.
declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
    interface Env extends GatewayEnv {
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
      TEST_SANDBOX_URL: string;
      TEST_GATEWAY_URL: string;
      TEST_IFIX_SANDBOX_KEY: string;
      TEST_IFIX_SANDBOX_SENDER: string;
    }
  }
}
export {};
