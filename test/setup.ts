import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Migrations apply before each file; idempotent (the files share one D1: isolate is false).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
