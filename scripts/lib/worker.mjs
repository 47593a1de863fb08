// The gateway as `wrangler deploy` builds it, run on workerd through Miniflare with the bindings of
// wrangler.jsonc's local top level: for scripts and Node-side tests that need the real Worker
// (the OpenAPI document it serves, the setup steps against its admin API) without `wrangler dev`.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** `wrangler deploy --dry-run` of the top level into a folder under .wrangler/ (workerd refuses paths that climb out of it). */
export function buildGateway() {
  mkdirSync(join(root, ".wrangler"), { recursive: true });
  const out = mkdtempSync(join(root, ".wrangler", "build-"));
  const r = spawnSync(join(root, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--env", "", "--outdir", out], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "warn", CI: "true" },
  });
  if (r.status !== 0) throw new Error(`building the gateway failed:\n${r.stdout}\n${r.stderr}`);
  return { path: join(out, "index.js"), cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

/** The built gateway on workerd, in memory, with `bindings` as its vars and secrets. */
export async function startGateway(scriptPath, bindings = {}) {
  const all = unstable_getMiniflareWorkerOptions(join(root, "wrangler.jsonc")).workerOptions;
  const keep = ["compatibilityDate", "compatibilityFlags", "kvNamespaces", "d1Databases", "queueProducers", "durableObjects", "ratelimits"];
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      // The Worker's request log would drown a test run's output; its errors still show.
      handleStructuredLogs: (e) => (e.level === "error" ? console.error(`[workerd] ${e.message}`) : undefined),
      workers: [{ name: "gateway", modules: true, scriptPath, ...Object.fromEntries(keep.map((k) => [k, all[k]])), bindings }],
    }),
  );
  await mf.ready;
  return {
    mf,
    fetch: (url, init) => mf.dispatchFetch(url, init),
    /** Applies migrations/*.sql in order, as `wrangler d1 migrations apply` does. */
    async migrate() {
      const db = await mf.getD1Database("DB", "gateway");
      const dir = join(root, "migrations");
      for (const f of readdirSync(dir)
        .filter((x) => x.endsWith(".sql"))
        .sort()) {
        const statements = readFileSync(join(dir, f), "utf8")
          .split("--> statement-breakpoint")
          .map((s) => s.trim())
          .filter(Boolean);
        await db.batch(statements.map((s) => db.prepare(s)));
      }
    },
    dispose: () => mf.dispose(),
  };
}
