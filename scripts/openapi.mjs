#!/usr/bin/env node
// The OpenAPI document exactly as the Worker serves it: builds the gateway as `wrangler deploy`
// would (or takes a bundle already built), runs it on workerd through Miniflare with the bindings
// of wrangler.jsonc, fetches /openapi.json and writes it. Then, when asked:
//   --lint            lints it with Redocly's CLI (rules in redocly.yaml); fails on any error
//   --types <file>    generates the typed client's types (openapi-typescript) into <file>
//
//   node scripts/bootstrap.mjs node scripts/openapi.mjs [--bundle dist/index.js] [--out openapi.json] [--lint] [--types file]
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules", ".bin");

const { values: args } = parseArgs({
  options: {
    bundle: { type: "string" },
    out: { type: "string", default: "openapi.json" },
    lint: { type: "boolean", default: false },
    types: { type: "string" },
  },
});

function run(cmd, argv, what, env = {}) {
  const r = spawnSync(join(bin, cmd), argv, { cwd: root, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", ...env } });
  if (r.status !== 0) {
    console.error(`[openapi] ${what} failed (${r.status})`);
    process.exit(r.status ?? 1);
  }
}

/** The gateway's bundle: the one given, or a fresh `wrangler deploy --dry-run` into a temporary folder. */
function bundle() {
  if (args.bundle) return { path: resolve(root, args.bundle), cleanup() {} };
  // Inside the project: workerd refuses module paths that climb out of its starting folder.
  mkdirSync(join(root, ".wrangler"), { recursive: true });
  const out = mkdtempSync(join(root, ".wrangler", "openapi-build-"));
  run("wrangler", ["deploy", "--dry-run", "--env", "", "--outdir", out], "building the gateway", { WRANGLER_LOG: "warn" });
  return { path: join(out, "index.js"), cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

/** Fetches /openapi.json from the bundle running on workerd with wrangler.jsonc's bindings (local top level). */
export async function servedDocument(scriptPath) {
  const all = unstable_getMiniflareWorkerOptions(join(root, "wrangler.jsonc")).workerOptions;
  const keep = ["compatibilityDate", "compatibilityFlags", "kvNamespaces", "d1Databases", "queueProducers", "durableObjects", "ratelimits"];
  const mf = new Miniflare(convertV4MiniflareOptions({
    workers: [{ name: "gateway", modules: true, scriptPath, ...Object.fromEntries(keep.map((k) => [k, all[k]])), bindings: { ENVIRONMENT: "openapi" } }],
  }));
  try {
    const res = await mf.dispatchFetch("http://gateway.local/openapi.json");
    if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}: ${await res.text()}`);
    return await res.text();
  } finally {
    await mf.dispose();
  }
}

const b = bundle();
try {
  const text = await servedDocument(b.path);
  const out = resolve(root, args.out);
  writeFileSync(out, `${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  console.error(`[openapi] wrote ${out}`);
  if (args.lint) run("redocly", ["lint", out, "--config", join(root, "redocly.yaml"), "--format", "stylish"], "the OpenAPI lint");
  if (args.types) {
    const { default: openapiTS, astToString } = await import("openapi-typescript");
    const ast = await openapiTS(JSON.parse(text), { alphabetize: true });
    const header = "// Generated from the gateway's /openapi.json by `npm run openapi -- --types <this file>`; do not edit.\n";
    writeFileSync(resolve(root, args.types), header + astToString(ast));
    console.error(`[openapi] wrote ${args.types}`);
  }
} finally {
  b.cleanup();
}
