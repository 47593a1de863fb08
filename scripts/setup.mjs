#!/usr/bin/env node
// `npm run setup -- --env production`: does against a deployment what `npm start` does locally after
// starting it. Applies the D1 migrations (remote), loads the activity catalogue from a file, creates
// the first clients (their secrets printed once, here, and nowhere else) and prints the gateway's
// iFIX key set URL. Safe to run again.
//
//   npm run setup -- --env production --url https://gateway.example.gov.in \
//        --catalogue catalogue.json --clients clients.json
//   npm run setup -- --env production --check        preflight only: what is left to configure
//   npm run setup -- --env production --dry-run      print the plan, change nothing
//   npm run setup -- --local --catalogue …           against the `npm start` stack (admin key from .dev.vars)
//
// The admin key comes from ADMIN_API_KEY in the environment, else a hidden prompt; the URL from
// --url or GATEWAY_URL, else the production route, else a prompt. Nothing is written to disk.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { parseDevVars } from "./dev-keys.mjs";
import { planSetup, preflight, readCatalogue, readClients, runAdminSteps } from "./lib/deployment.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    env: { type: "string" },
    local: { type: "boolean", default: false },
    url: { type: "string" },
    catalogue: { type: "string" },
    clients: { type: "string" },
    check: { type: "boolean", default: false },
    "dry-run": { type: "boolean", default: false },
    "skip-migrations": { type: "boolean", default: false },
  },
});

const fail = (msg) => {
  console.error(`[setup] ${msg}`);
  process.exit(1);
};
if (!args.local && !args.env) fail("say which deployment: --env staging | --env production (or --local for the npm start stack)");
const env = args.local ? "" : args.env;

const config = unstable_readConfig({ config: join(root, "wrangler.jsonc"), env: env || undefined });
if (!args.local) {
  const problems = preflight(config, env);
  if (problems.length) {
    console.error(`[setup] ${env} is not ready (wrangler.jsonc, env.${env}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    process.exit(1);
  }
  console.error(`[setup] wrangler.jsonc env.${env}: ready`);
  if (args.check) process.exit(0);
}

const plan = planSetup({ env, local: args.local, catalogueFile: args.catalogue, clientsFile: args.clients, skipMigrations: args["skip-migrations"] });
const catalogue = args.catalogue ? readCatalogue(resolve(args.catalogue)) : undefined;
const clients = args.clients ? readClients(resolve(args.clients)) : [];
if (args["dry-run"]) {
  for (const s of plan) console.log(`${s.run ? "will" : "skip"}  ${s.step.padEnd(10)} ${s.detail}`);
  process.exit(0);
}

function ask(question, { hidden = false } = {}) {
  if (!process.stdin.isTTY) fail(`${question.trim()} is needed: set it in the environment (no terminal to ask on)`);
  return new Promise((res) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    if (hidden) rl._writeToOutput = (s) => (s.includes(question) ? process.stdout.write(s) : undefined);
    rl.question(question, (answer) => {
      rl.close();
      if (hidden) process.stdout.write("\n");
      res(answer.trim());
    });
  });
}

function defaultUrl() {
  if (args.local) return `http://127.0.0.1:${process.env.GATEWAY_PORT ?? 8787}`;
  const route = (config.routes ?? [])[0];
  const pattern = typeof route === "string" ? route : route?.pattern;
  return pattern && !pattern.includes("REPLACE_") ? `https://${pattern.replace(/\/\*$/, "")}` : undefined;
}
const url = args.url ?? process.env.GATEWAY_URL ?? defaultUrl() ?? (await ask("Gateway URL (https://…): "));
let adminKey = process.env.ADMIN_API_KEY;
if (!adminKey && args.local && existsSync(join(root, ".dev.vars")))
  adminKey = parseDevVars(readFileSync(join(root, ".dev.vars"), "utf8")).ADMIN_API_KEY;
if (!adminKey) adminKey = await ask("ADMIN_API_KEY (not echoed): ", { hidden: true });
if (!adminKey) fail("no admin key");

if (plan[0].run) {
  const where = args.local ? ["--local"] : ["--remote", "--env", env];
  console.error(`[setup] D1 migrations (${where.join(" ")})`);
  const r = spawnSync(join(root, "node_modules", ".bin", "wrangler"), ["d1", "migrations", "apply", "DB", ...where], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
  if (r.status !== 0) fail("migrations failed");
}

const printed = [];
const result = await runAdminSteps({
  url,
  adminKey,
  catalogue,
  clients,
  log: (m) => console.error(`[setup] ${m}`),
  onCredentials: (c) => printed.push(c),
}).catch((err) => fail(err.message));

if (printed.length) {
  console.log("\nNew clients: hand each its credentials now; they are shown once and stored only as hashes.");
  for (const c of printed) {
    console.log(
      `\n  ${c.name}\n    clientId      ${c.clientId}\n    clientSecret  ${c.clientSecret}\n    apiKey        ${c.apiKey}\n    scopes        ${c.scopes.join(" ")}\n    tenants       ${JSON.stringify(c.tenants)}`,
    );
  }
}
for (const t of result.token) if (t.status !== 200) console.error(`[setup] warning: a token for "${t.name}" answered ${t.status}`);
console.log(`\nOpenAPI document: ${url.replace(/\/+$/, "")}/openapi.json (${result.openapi}); reference: ${url.replace(/\/+$/, "")}/docs`);
if (result.jwks.url)
  console.log(
    `iFIX: the gateway's public keys are at ${result.jwks.url} (kid ${result.jwks.kids.join(", ") || "none"}); give iFIX this URL and IFIX_SENDER_ID.`,
  );
else console.log(`iFIX: /.well-known/jwks.json answered ${result.jwks.status}; send iFIX the public half of IFIX_SIGNING_KEY (README, "Keys").`);
