// wrangler.jsonc and package-lock.json, checked as a deployer would rely on them. node --test, Node 22.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { unstable_readConfig } from "wrangler";
import { QUEUES, isQueue } from "../../src/queues/names.ts";
import { REQUIRED_SECRETS } from "../../scripts/lib/deployment.mjs";
import { root } from "../../scripts/lib/worker.mjs";

const config = (env) => unstable_readConfig({ config: join(root, "wrangler.jsonc"), env });
const envs = ["", "staging", "production"];
const names = (list, key) => (list ?? []).map((x) => x[key]).sort();

describe("wrangler.jsonc", () => {
  const top = config("");
  for (const env of ["staging", "production"]) {
    it(`${env} has every binding, var, cron and Durable Object of the top level, with its own resources`, () => {
      const c = config(env);
      assert.deepEqual(Object.keys(c.vars).sort(), Object.keys(top.vars).sort());
      assert.deepEqual(names(c.d1_databases, "binding"), names(top.d1_databases, "binding"));
      assert.deepEqual(names(c.kv_namespaces, "binding"), names(top.kv_namespaces, "binding"));
      assert.deepEqual(names(c.queues.producers, "binding"), names(top.queues.producers, "binding"));
      assert.equal(c.queues.consumers.length, top.queues.consumers.length);
      assert.deepEqual(names(c.durable_objects.bindings, "name"), names(top.durable_objects.bindings, "name"));
      assert.deepEqual(names(c.ratelimits, "name"), names(top.ratelimits, "name"));
      assert.deepEqual(c.triggers.crons, top.triggers.crons);
      assert.deepEqual(c.migrations, top.migrations);
      assert.notEqual(c.d1_databases[0].database_name, top.d1_databases[0].database_name);
      assert.equal(c.vars.ENVIRONMENT, env);
      assert.deepEqual([...c.secrets.required].sort(), [...REQUIRED_SECRETS].sort());
    });
  }

  it("gives staging and production different queues, databases and rate-limit namespaces", () => {
    const [s, p] = [config("staging"), config("production")];
    assert.notEqual(s.d1_databases[0].database_name, p.d1_databases[0].database_name);
    for (const q of s.queues.producers) assert.ok(!p.queues.producers.some((x) => x.queue === q.queue), q.queue);
    for (const r of s.ratelimits) assert.ok(!p.ratelimits.some((x) => x.namespace_id === r.namespace_id), r.name);
  });

  for (const env of envs) {
    it(`routes every consumer queue of ${env || "the top level"} to its handler and dead-letters the work queues`, () => {
      const c = config(env);
      for (const consumer of c.queues.consumers) {
        const handlers = Object.values(QUEUES).filter((q) => isQueue(consumer.queue, q));
        assert.equal(handlers.length, 1, `${consumer.queue} matches ${handlers.join(", ") || "no handler"}`);
        // Work queues dead-letter into the dead-letter queue, which dead-letters into its backstop;
        // the backstop is the end of the line (it keeps what it cannot store in the vault KV).
        if (isQueue(consumer.queue, QUEUES.deadLetterBackstop)) assert.equal(consumer.dead_letter_queue, undefined, consumer.queue);
        else if (isQueue(consumer.queue, QUEUES.deadLetters))
          assert.ok(consumer.dead_letter_queue && isQueue(consumer.dead_letter_queue, QUEUES.deadLetterBackstop), consumer.queue);
        else assert.ok(consumer.dead_letter_queue && isQueue(consumer.dead_letter_queue, QUEUES.deadLetters), consumer.queue);
      }
    });
  }

  it("keeps production off workers.dev, redacts query strings in logs and leaves the redundant nodejs_compat out", () => {
    const p = config("production");
    assert.equal(p.workers_dev, false);
    assert.equal(p.preview_urls, false);
    for (const env of envs) {
      assert.equal(config(env).observability.redact_query_string, true);
      assert.ok(!config(env).compatibility_flags.includes("nodejs_compat"));
    }
    assert.ok(top.compatibility_date >= "2026-08-04", "nodejs_compat is on by default only from 2026-08-04");
  });

  it("declares only secrets the Worker's Env knows, and every var there too (worker-configuration.d.ts)", () => {
    const generated = readFileSync(join(root, "worker-configuration.d.ts"), "utf8");
    for (const name of [...REQUIRED_SECRETS, ...Object.keys(top.vars)]) assert.match(generated, new RegExp(`\\b${name}\\??: string;`), name);
  });
});

describe("Durable Objects are placed near India", () => {
  it("passes locationHint apac wherever the gateway gets a stub (get(idFromName(…)))", () => {
    const files = [];
    const walk = (dir) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.tsx?$/.test(f)) files.push(p);
      }
    };
    walk(join(root, "src"));
    const calls = [];
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      for (const m of text.matchAll(/\.get\(\s*env\.[A-Z_]+\.idFrom(Name|String)\([^;]*;/g))
        calls.push({ file: f.slice(root.length + 1), call: m[0] });
    }
    assert.ok(calls.length >= 3, `found ${calls.length}`);
    for (const c of calls) assert.match(c.call, /locationHint: "apac"/, `${c.file}: ${c.call}`);
  });
});

describe("package-lock.json installs on every platform", () => {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
  const pkgs = lock.packages;
  const has = (re, os, cpu) => Object.entries(pkgs).some(([k, v]) => re.test(k) && v.os?.includes(os) && v.cpu?.includes(cpu));
  const platforms = [
    ["linux", "x64"],
    ["linux", "arm64"],
    ["darwin", "x64"],
    ["darwin", "arm64"],
    ["win32", "x64"],
  ];

  it("records the workerd binary of every platform Cloudflare builds (no Windows arm64 exists), for each workerd in the tree", () => {
    const workerds = Object.keys(pkgs).filter((k) => /(^|\/)node_modules\/workerd$/.test(k));
    assert.ok(workerds.length > 0);
    for (const w of workerds) {
      const prefix = w.replace(/workerd$/, "");
      for (const [os, cpu] of platforms) {
        const name = `${prefix}@cloudflare/workerd-${os === "win32" ? "windows" : os}-${cpu === "x64" ? "64" : "arm64"}`;
        const hit = pkgs[name] ?? pkgs[`node_modules/@cloudflare/workerd-${os === "win32" ? "windows" : os}-${cpu === "x64" ? "64" : "arm64"}`];
        assert.ok(hit && hit.version === pkgs[w].version, `${w}@${pkgs[w].version}: ${os}-${cpu} missing`);
      }
    }
  });

  it("records esbuild and Biome for Linux, macOS and Windows on x64 and arm64", () => {
    for (const [os, cpu] of [...platforms, ["win32", "arm64"]]) {
      assert.ok(has(/node_modules\/@esbuild\//, os, cpu), `esbuild ${os}-${cpu}`);
      assert.ok(has(/node_modules\/@biomejs\/cli-/, os, cpu), `biome ${os}-${cpu}`);
    }
  });

  it("pins miniflare to the version wrangler itself depends on", () => {
    const wrangler = pkgs["node_modules/wrangler"];
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    assert.equal(pkg.devDependencies.miniflare, wrangler.dependencies.miniflare);
    assert.equal(pkgs["node_modules/miniflare"].version, wrangler.dependencies.miniflare);
    assert.equal(pkg.engines.node, wrangler.engines.node);
  });
});
