import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Migrations apply from empty on each test file's fresh D1 (idempotent across files).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
