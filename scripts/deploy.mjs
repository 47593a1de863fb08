#!/usr/bin/env node
// `npm run deploy -- --env production`: refuses what would go out half-configured (placeholder ids,
// empty required vars, plain-http upstreams; wrangler itself refuses missing secrets through
// `secrets.required`), then deploys that environment. Extra arguments go to `wrangler deploy`.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";
import { DEPLOY_ENVS, preflight } from "./lib/deployment.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const i = argv.findIndex((a) => a === "--env" || a === "-e" || a.startsWith("--env="));
const env = i < 0 ? undefined : argv[i].includes("=") ? argv[i].split("=")[1] : argv[i + 1];
if (!env || !DEPLOY_ENVS.includes(env)) {
  console.error(`[deploy] say which deployment: npm run deploy -- --env ${DEPLOY_ENVS.join("|")} (the top level of wrangler.jsonc is local only)`);
  process.exit(1);
}
const problems = preflight(unstable_readConfig({ config: join(root, "wrangler.jsonc"), env }), env);
if (problems.length) {
  console.error(`[deploy] ${env} is not ready (wrangler.jsonc, env.${env}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
const r = spawnSync(join(root, "node_modules", ".bin", "wrangler"), ["deploy", ...argv], { cwd: root, stdio: "inherit" });
if (r.status === 0) console.error(`[deploy] deployed ${env}. First time? npm run setup -- --env ${env} (README, "Deploy")`);
process.exit(r.status ?? 1);
