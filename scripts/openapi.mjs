#!/usr/bin/env node
// The OpenAPI document exactly as the Worker serves it: builds the gateway as `wrangler deploy`
// would (or takes a bundle already built), runs it on workerd through Miniflare with the bindings
// of wrangler.jsonc, fetches /openapi.json and writes it. Then, when asked:
//   --lint            lints it with Redocly's CLI (rules in redocly.yaml); fails on any error
//   --types <file>    generates the typed client's types (openapi-typescript) into <file>
//
//   node scripts/bootstrap.mjs node scripts/openapi.mjs [--bundle dist/index.js] [--out openapi.json] [--lint] [--types file]
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildGateway, root, startGateway } from "./lib/worker.mjs";

const bin = join(root, "node_modules", ".bin");

const { values: args } = parseArgs({
  options: {
    bundle: { type: "string" },
    out: { type: "string", default: "openapi.json" },
    lint: { type: "boolean", default: false },
    types: { type: "string" },
  },
});

function run(cmd, argv, what) {
  const r = spawnSync(join(bin, cmd), argv, { cwd: root, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
  if (r.status !== 0) {
    console.error(`[openapi] ${what} failed (${r.status})`);
    process.exit(r.status ?? 1);
  }
}

/** The gateway's bundle: the one given, or a fresh `wrangler deploy --dry-run`. */
const bundle = () => (args.bundle ? { path: resolve(root, args.bundle), cleanup() {} } : buildGateway());

/** /openapi.json as the bundle serves it on workerd with wrangler.jsonc's bindings. */
async function servedDocument(scriptPath) {
  const gw = await startGateway(scriptPath, { ENVIRONMENT: "openapi" });
  try {
    const res = await gw.fetch("http://gateway.local/openapi.json");
    if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}: ${await res.text()}`);
    return await res.text();
  } finally {
    await gw.dispose();
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
