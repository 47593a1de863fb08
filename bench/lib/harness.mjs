// The benchmark harness: builds the gateway and sandbox bundles, runs each on workerd through the
// Miniflare API (no `wrangler dev` proxy in front), and measures with autocannon.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import http from "node:http";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import autocannon from "autocannon";
import { generateDevKeys } from "../../scripts/dev-keys.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BUILD = join(ROOT, "bench", ".build");
const BIN = join(ROOT, "node_modules", ".bin");

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---------------------------------------------------------------- machine and statistics

export function machineInfo() {
  const cpus = os.cpus();
  // The workerd binary Miniflare itself spawns (it may carry its own, newer than the top-level one).
  const workerd = workerdInfo();
  const pkg = (name) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
    } catch {
      return null;
    }
  };
  const git = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryMiB: Math.round(os.totalmem() / 2 ** 20),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    workerd,
    miniflare: pkg("miniflare"),
    wrangler: pkg("wrangler"),
    autocannon: pkg("autocannon"),
    gitCommit: git || null,
    stateDir: { path: stateRoot(), fs: fsTypeOf(stateRoot()) },
    date: new Date().toISOString(),
  };
}

export function workerdInfo() {
  const req = createRequire(join(ROOT, "node_modules", "miniflare", "package.json"));
  let dir;
  try {
    dir = dirname(req.resolve("workerd/package.json"));
  } catch {
    dir = join(ROOT, "node_modules", "workerd");
  }
  const version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  const platformPkg = `@cloudflare/workerd-${process.platform}-${process.arch === "x64" ? "64" : process.arch}`;
  let bin = null;
  for (const base of [join(ROOT, "node_modules", "miniflare", "node_modules"), join(ROOT, "node_modules")]) {
    const p = join(base, platformPkg, "bin", "workerd");
    if (existsSync(p)) {
      bin = p;
      break;
    }
  }
  const v = bin ? spawnSync(bin, ["--version"], { encoding: "utf8" }) : null;
  return `${v?.status === 0 ? v.stdout.trim() : "workerd"} (npm ${version}, as spawned by miniflare)`;
}

export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const round = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

// ---------------------------------------------------------------- build

/** "working tree at <commit>", and whether what the bundles are built from differs from that commit. */
function workingTreeSource() {
  const git = (...args) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  const dirty = git("status", "--porcelain", "--", "src", "migrations", "wrangler.jsonc", "package-lock.json");
  return `working tree at ${git("rev-parse", "--short", "HEAD")}${dirty ? " with uncommitted changes" : " (clean)"}`;
}

/**
 * Bundles the gateway (wrangler.jsonc) and the sandbox (src/sandbox/wrangler.jsonc) as wrangler deploys
 * them. `fromRev`: from that commit's tree (`git archive <rev>`) instead of the working tree, so
 * uncommitted work in progress elsewhere in the tree does not end up in the figures, and an earlier
 * commit is measured by today's bench (the "before" of a before/after pair).
 */
export function buildBundles({ fromRev = null } = {}) {
  let cwd = ROOT;
  if (fromRev) {
    cwd = join(BUILD, "head");
    rmSync(cwd, { recursive: true, force: true });
    mkdirSync(cwd, { recursive: true });
    const r = spawnSync("sh", ["-c", `git -C "${ROOT}" archive "$REV" | tar -x -C "${cwd}"`], {
      encoding: "utf8",
      env: { ...process.env, REV: fromRev },
    });
    if (r.status !== 0) throw new Error(`git archive failed: ${r.stderr}`);
    symlinkSync(join(ROOT, "node_modules"), join(cwd, "node_modules"));
  }
  const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", CI: "true" };
  const built = {};
  for (const [name, config, file] of [
    ["gateway", "wrangler.jsonc", "index.js"],
    ["sandbox", "src/sandbox/wrangler.jsonc", "worker.js"],
  ]) {
    const out = join(BUILD, name);
    rmSync(out, { recursive: true, force: true });
    const r = spawnSync(join(BIN, "wrangler"), ["deploy", "--dry-run", "-c", config, "--outdir", out], { cwd, env, encoding: "utf8" });
    if (r.status !== 0 || !existsSync(join(out, file))) {
      throw new Error(`building ${name} failed:\n${r.stdout}\n${r.stderr}`);
    }
    built[name] = join(out, file);
  }
  built.source = fromRev
    ? `git ${fromRev === "HEAD" ? "HEAD " : ""}${spawnSync("git", ["rev-parse", "--short", fromRev], { cwd: ROOT, encoding: "utf8" }).stdout.trim()}`
    : workingTreeSource();
  built.migrations = join(cwd, "migrations");
  return built;
}

// ---------------------------------------------------------------- processes

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** workerd processes that are children of this Node process (Miniflare spawns one per instance). */
function workerdChildren() {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (m && m[1].startsWith("workerd") && Number(m[2]) === process.pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Resident memory of a process in MiB (VmRSS), or null when it is gone. */
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) in a /proc stat file (a process's or a thread's), or null when it is gone. */
function statCpuSeconds(path) {
  try {
    const fields = readFileSync(path, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far, or null when it is gone. */
export const cpuSeconds = (pid) => statCpuSeconds(`/proc/${pid}/stat`);

/** CPU seconds (user + system) each thread of a process has used so far: { tid: seconds }. */
function threadCpuSeconds(pid) {
  const out = {};
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const s = statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    if (s !== null) out[tid] = s; // null: the thread ended
  }
  return out;
}

/**
 * How busy a process's threads are from now until `stop()`, in % of one core. workerd runs all of one
 * process's JavaScript (every isolate and Durable Object, and Miniflare's local D1, Queues, KV and
 * rate limiter) on one event-loop thread; its other thread is V8's platform worker (GC). A busiest
 * thread near 100% is a saturated process, however idle the machine's other core is.
 */
export function threadLoad(pid) {
  const t0 = Date.now();
  const a = threadCpuSeconds(pid);
  return {
    stop() {
      const wall = (Date.now() - t0) / 1000;
      const b = threadCpuSeconds(pid);
      const busy = Object.keys(b).map((tid) => b[tid] - (a[tid] ?? 0));
      if (!busy.length || wall <= 0) return null;
      return {
        threads: busy.length,
        busiestThreadPercent: round((Math.max(...busy) / wall) * 100, 0),
        processPercent: round((busy.reduce((x, y) => x + y, 0) / wall) * 100, 0),
      };
    },
  };
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineJiffies() {
  const [, ...v] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const idle = v[3] + (v[4] || 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Samples processes every `everyMs` until stopped: RSS of `pid` (MiB), and CPU use (% of one core)
 * of each process in `cpuOf` plus the whole machine's busy share; returns the samples and a summary.
 */
export function sampleRss(pid, everyMs = 1000, cpuOf = {}) {
  const samples = [];
  const started = Date.now();
  const cpu0 = Object.fromEntries(Object.entries({ ...cpuOf, node: process.pid }).map(([k, p]) => [k, cpuSeconds(p)]));
  const m0 = machineJiffies();
  const tick = () => {
    const v = rssMiB(pid);
    if (v !== null) samples.push({ t: Math.round((Date.now() - started) / 1000), rssMiB: v });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      tick();
      const v = samples.map((s) => s.rssMiB);
      const wall = (Date.now() - started) / 1000;
      const cpu = {};
      for (const [k, p] of Object.entries({ ...cpuOf, node: process.pid })) {
        const now = cpuSeconds(p);
        if (now !== null && cpu0[k] !== null) cpu[`${k}PercentOfOneCore`] = round(((now - cpu0[k]) / wall) * 100, 0);
      }
      const m1 = machineJiffies();
      cpu.machineBusyPercent = round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100, 0);
      return { samples, startMiB: v[0] ?? null, peakMiB: v.length ? Math.max(...v) : null, endMiB: v[v.length - 1] ?? null, cpu };
    },
  };
}

/** One Miniflare instance (its own workerd process); answers it, its URL and the workerd pid. */
export async function startMiniflare(options) {
  const before = new Set(workerdChildren());
  const mf = new Miniflare(convertV4MiniflareOptions(options));
  const url = await mf.ready;
  const pid = workerdChildren().find((p) => !before.has(p)) ?? null;
  return { mf, url: url.toString().replace(/\/$/, ""), pid };
}

// BENCH_LOG=<regex>: print the runtime's log lines that match (debugging a scenario).
const LOG_FILTER = process.env.BENCH_LOG ? new RegExp(process.env.BENCH_LOG) : null;

/** Counts structured log lines by level (the gateway logs JSON per request; we keep none of it). */
function logSink() {
  const counts = { total: 0, error: 0, warn: 0 };
  const errors = [];
  return {
    counts,
    errors,
    handle(entry) {
      counts.total++;
      if (LOG_FILTER && LOG_FILTER.test(String(entry.message))) console.log(`[workerd ${entry.level}] ${String(entry.message).slice(0, 600)}`);
      if (entry.level === "error") {
        counts.error++;
        if (errors.length < 20) errors.push(String(entry.message).slice(0, 400));
      } else if (entry.level === "warn") counts.warn++;
    },
  };
}

/** Everything the gateway and the sandbox share for one bench run: ports and keys. */
export async function createTopology() {
  const gatewayPort = await freePort();
  const sandboxPort = await freePort();
  const passthroughPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const keys = generateDevKeys({ gatewayUrl, sandboxUrl });
  return { gatewayPort, sandboxPort, passthroughPort, gatewayUrl, sandboxUrl, passthroughUrl: `http://127.0.0.1:${passthroughPort}`, keys };
}

const sandboxConfig = (keys) => ({
  assam: { clientId: keys.gateway.ASSAM_CLIENT_ID, clientSecret: keys.gateway.ASSAM_CLIENT_SECRET },
  umang: { apiToken: keys.gateway.UMANG_API_TOKEN, clientId: keys.gateway.UMANG_CLIENT_ID, clientSecret: keys.gateway.UMANG_CLIENT_SECRET },
  ifix: {
    senderId: keys.sandbox.ifixSenderId,
    privateKeyPem: keys.sandbox.ifixPrivatePem,
    trustedKeys: { [keys.sandbox.gatewaySenderId]: [keys.sandbox.gatewayPublicPem] },
  },
});

/** The sandbox portals (src/sandbox/worker.ts, bundled) as a workerd process of their own. */
export async function startSandbox(topo, bundles) {
  const sink = logSink();
  const s = await startMiniflare({
    host: "127.0.0.1",
    port: topo.sandboxPort,
    handleStructuredLogs: (e) => sink.handle(e),
    workers: [
      {
        name: "sandbox",
        modules: true,
        scriptPath: bundles.sandbox,
        compatibilityDate: "2026-11-01",
        compatibilityFlags: ["nodejs_compat"],
        bindings: { SANDBOX_CONFIG: JSON.stringify(sandboxConfig(topo.keys)) },
      },
    ],
  });
  return { ...s, logs: sink, dispose: () => s.mf.dispose() };
}

/**
 * A bare pass-through Worker (bench/passthrough.js) in the same runtime, for the overhead baseline.
 * `limiter`: with a rate-limiting binding (LIMITER) it asks before each call, configured like the
 * gateway's CLIENT_RATE_LIMITER in the load runs (a limit no run reaches), on its own `port`.
 */
export async function startPassthrough(topo, { port = topo.passthroughPort, limiter = false } = {}) {
  const k = topo.keys.gateway;
  const s = await startMiniflare({
    host: "127.0.0.1",
    port,
    workers: [
      {
        name: "passthrough",
        ...benchWorkerModules("passthrough.js"),
        compatibilityDate: "2026-11-01",
        bindings: { UMANG_BASE_URL: k.UMANG_BASE_URL, UMANG_API_TOKEN: k.UMANG_API_TOKEN, UMANG_TKN: k.UMANG_TKN, UMANG_USER_ID: k.UMANG_USER_ID },
        ...(limiter ? { ratelimits: benchLimiter() } : {}),
      },
    ],
  });
  return { ...s, dispose: () => s.mf.dispose() };
}

/**
 * The modules of one of the bench's own Workers (bench/<script>): the script first, then
 * bench/umang-call.js, which the UMANG baselines import (Miniflare loads what is listed; it does not
 * follow imports).
 */
export const benchWorkerModules = (script) => ({
  modulesRoot: ROOT,
  modules: [script, "umang-call.js"].map((f) => ({ type: "ESModule", path: join(ROOT, "bench", f) })),
});

/**
 * A rate-limiting binding LIMITER for the bench's own Workers, configured as the load runs configure
 * the gateway's CLIENT_RATE_LIMITER (Miniflare's simulation of it, with a limit no run reaches).
 */
export const benchLimiter = () => ({
  LIMITER: { ...gatewayWorkerOptions().ratelimits.CLIENT_RATE_LIMITER, name: "LIMITER", simple: { limit: 1_000_000, period: 60 } },
});

let cachedWorkerOptions;
function gatewayWorkerOptions() {
  // The bindings exactly as wrangler.jsonc declares them (queues, consumers, dead-letter queue, DOs, D1,
  // KV, rate limiter, crons), converted by wrangler itself; only the vars are ours. (Wrangler prints
  // "Using secrets defined in .dev.vars" here: those values are not used, `bindings` is replaced.)
  if (!cachedWorkerOptions) {
    const all = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.jsonc")).workerOptions;
    const keep = [
      "compatibilityDate",
      "compatibilityFlags",
      "cronTriggers",
      "kvNamespaces",
      "d1Databases",
      "queueProducers",
      "queueConsumers",
      "durableObjects",
      "ratelimits",
    ];
    cachedWorkerOptions = Object.fromEntries(keep.map((k) => [k, all[k]]));
  }
  return cachedWorkerOptions;
}

/**
 * The gateway bundle on workerd with every binding of wrangler.jsonc, persisted under `persistDir`
 * (D1, KV, Durable Objects survive a dispose + restart, as they survive a crash in production).
 * `vars` override wrangler.jsonc's vars (e.g. ASSAM_MAX_RPS for the cut-off run).
 */
export async function startGateway(topo, bundles, { persistDir, vars = {}, rateLimit = 1_000_000, inspectorPort, consumer } = {}) {
  const base = gatewayWorkerOptions();
  const tomlVars = unstable_readConfig({ config: join(ROOT, "wrangler.jsonc") }).vars ?? {};
  const sink = logSink();
  const s = await startMiniflare({
    host: "127.0.0.1",
    port: topo.gatewayPort,
    ...(inspectorPort ? { inspectorPort, inspectorHost: "127.0.0.1" } : {}),
    resourcePersistencePath: persistDir,
    handleStructuredLogs: (e) => sink.handle(e),
    workers: [
      {
        ...base,
        name: "gateway",
        modules: true,
        scriptPath: bundles.gateway,
        bindings: { ...tomlVars, ...topo.keys.gateway, ENVIRONMENT: "bench", ...vars },
        // `consumer`: override a queue consumer's settings (diagnostics only; results use wrangler.jsonc's).
        queueConsumers: consumer
          ? Object.fromEntries(Object.entries(base.queueConsumers).map(([q, c]) => [q, consumer[q] ? { ...c, ...consumer[q] } : c]))
          : base.queueConsumers,
        // Per-client limit raised for load runs (wrangler.jsonc: 600 a minute per client).
        // rateLimit null: no binding at all (the code treats it as optional), for attribution runs.
        ratelimits:
          rateLimit === null ? {} : { CLIENT_RATE_LIMITER: { ...base.ratelimits.CLIENT_RATE_LIMITER, simple: { limit: rateLimit, period: 60 } } },
      },
    ],
  });
  return { ...s, logs: sink, inspectorPort, dispose: () => s.mf.dispose() };
}

/**
 * Samples the JS heap of the gateway Worker's own isolate (not workerd's internals, local D1 or the
 * queue broker, which run in other isolates) over the DevTools protocol: a forced GC, then
 * Runtime.getHeapUsage, every `everyMs`. Needs the gateway started with an inspector port.
 */
export async function sampleWorkerHeap(gw, everyMs = 5000) {
  const targets = await (await fetch(`http://127.0.0.1:${gw.inspectorPort}/json`)).json();
  const target = targets.find((t) => /gateway/.test(`${t.id} ${t.title} ${t.url}`)) ?? targets[0];
  if (!target) throw new Error("no inspector target for the gateway");
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.id && pending.has(m.id)) {
      pending.get(m.id)(m.result);
      pending.delete(m.id);
    }
  };
  const call = (method) =>
    new Promise((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method }));
      setTimeout(() => pending.has(n) && (pending.delete(n), resolve(null)), 2000);
    });
  const samples = [];
  const started = Date.now();
  const tick = async () => {
    // Live heap: collect garbage first, so the figure is what the Worker holds, not GC timing.
    await call("HeapProfiler.collectGarbage");
    const r = await call("Runtime.getHeapUsage");
    if (r?.usedSize !== undefined)
      samples.push({
        t: Math.round((Date.now() - started) / 1000),
        usedMiB: round(r.usedSize / 2 ** 20, 1),
        totalMiB: round(r.totalSize / 2 ** 20, 1),
      });
  };
  await tick();
  const timer = setInterval(tick, everyMs);
  return {
    target: target.title ?? target.id,
    samples,
    stop() {
      clearInterval(timer);
      ws.close();
      const used = samples.map((x) => x.usedMiB);
      return {
        target: target.title ?? target.id,
        startMiB: used[0] ?? null,
        peakMiB: used.length ? Math.max(...used) : null,
        endMiB: used.at(-1) ?? null,
        samples: samples.filter((_, i) => i % 3 === 0),
      };
    },
  };
}

/** Applies migrations/*.sql to the gateway's D1 in file order (as `wrangler d1 migrations apply` does). */
export async function applyMigrations(gw, dir = join(ROOT, "migrations")) {
  const db = await gw.mf.getD1Database("DB", "gateway");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  await db.exec("CREATE TABLE IF NOT EXISTS bench_migrations (name TEXT PRIMARY KEY)");
  for (const f of files) {
    const done = await db.prepare("SELECT 1 AS x FROM bench_migrations WHERE name = ?").bind(f).first();
    if (done) continue;
    const sql = readFileSync(join(dir, f), "utf8");
    const statements = sql
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter(Boolean);
    await db.batch(statements.map((s) => db.prepare(s)));
    await db.prepare("INSERT INTO bench_migrations (name) VALUES (?)").bind(f).run();
  }
  return files;
}

/**
 * Where a run keeps its local state (D1, KV, Durable Objects, queues): BENCH_STATE_DIR (`--state-dir`),
 * else RAM (/dev/shm) where there is one, else the OS temp directory. workerd commits each SQLite
 * transaction of the local D1 and Durable Objects with an fsync on its one event-loop thread: on a
 * virtual disk that thread waits in uninterruptible sleep for part of every load, and the figures
 * measure the disk (bench/README.md, "State"). Cloudflare's storage does not block the Worker's
 * thread on a local disk; `--state-dir /tmp` measures the disk case.
 */
export function stateRoot() {
  if (process.env.BENCH_STATE_DIR) return process.env.BENCH_STATE_DIR;
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return os.tmpdir();
  }
}

/** The filesystem type under `dir` (tmpfs, ext4, ...) from /proc/mounts: the longest mount point that holds it. */
export function fsTypeOf(dir) {
  try {
    const mounts = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" "))
      .filter((f) => f.length > 2 && (dir === f[1] || dir.startsWith(f[1].endsWith("/") ? f[1] : `${f[1]}/`)));
    mounts.sort((a, b) => b[1].length - a[1].length);
    return mounts[0]?.[2] ?? null;
  } catch {
    return null;
  }
}

export const tempDir = (prefix) => mkdtempSync(join(stateRoot(), `amrit-bench-${prefix}-`));

/** Starts sandbox + gateway (+ passthrough when asked), migrates, and creates a client with all scopes. */
export async function startStack(bundles, { persistDir = tempDir("state"), vars, passthrough = false, rateLimit, inspect = false, consumer } = {}) {
  const topo = await createTopology();
  const sandbox = await startSandbox(topo, bundles);
  const inspectorPort = inspect ? await freePort() : undefined;
  const gateway = await startGateway(topo, bundles, { persistDir, vars, rateLimit, inspectorPort, consumer });
  await applyMigrations(gateway, bundles.migrations);
  const pt = passthrough ? await startPassthrough(topo) : null;
  const stack = {
    topo,
    bundles,
    persistDir,
    vars,
    rateLimit,
    sandbox,
    gateway,
    passthrough: pt,
    admin: { "X-API-Key": topo.keys.gateway.ADMIN_API_KEY, "Content-Type": "application/json" },
    async restartGateway() {
      await stack.gateway.dispose();
      stack.gateway = await startGateway(topo, bundles, { persistDir, vars, rateLimit, inspectorPort, consumer });
      return stack.gateway;
    },
    async stop() {
      for (const p of [stack.passthrough, stack.gateway, stack.sandbox]) {
        try {
          await p?.dispose();
        } catch {
          /* already gone */
        }
      }
      rmSync(persistDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** A client of the running gateway; `tenants` defaults to all (CONTRACT v3 §4: absent would be none). */
export async function createClient(stack, scopes, name = "bench client", tenants = ["*"]) {
  const r = await fetch(`${stack.topo.gatewayUrl}/v1/admin/clients`, {
    method: "POST",
    headers: stack.admin,
    body: JSON.stringify({ name, scopes, tenants }),
  });
  if (r.status !== 201) throw new Error(`creating a client failed: ${r.status} ${await r.text()}`);
  return r.json();
}

/** The running gateway's OpenAPI document (throws when it cannot be generated). */
export async function openapi(stack) {
  const r = await fetch(`${stack.topo.gatewayUrl}/openapi.json`);
  if (!r.ok) throw new Error(`GET /openapi.json answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
  return r.json();
}

/**
 * Whether the running gateway serves `method path`: asked with an empty body and the admin key;
 * the app's not-found handler answers "no such route" for paths it does not serve.
 */
export async function hasRoute(stack, method, path) {
  const r = await fetch(`${stack.topo.gatewayUrl}${path}`, {
    method: method.toUpperCase(),
    headers: stack.admin,
    body: method.toLowerCase() === "get" ? undefined : "{}",
  });
  const text = await r.text();
  return !(r.status === 404 && text.includes("no such route"));
}

/** Fires a cron on the gateway worker (the same handler Cloudflare's Cron Triggers call). */
export async function fireCron(gw, cron) {
  const worker = await gw.mf.getWorker("gateway");
  return worker.scheduled({ cron, scheduledTime: new Date() });
}

// ---------------------------------------------------------------- load

/** One autocannon run; returns the figures we report. */
export async function load(opts) {
  const r = await autocannon({ connections: 10, duration: 10, ...opts });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    mean: r.latency.average,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    status: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    durationS: r.duration,
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One request over a kept-alive socket; resolves with status and body. */
export function request(url, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body ? { ...headers, "Content-Length": Buffer.byteLength(body) } : headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

/**
 * Latency without queueing, at microsecond resolution (autocannon's histogram is in whole
 * milliseconds): sequential requests over one kept-alive connection for `durationS`.
 */
export async function latencyProbe(target, durationS) {
  const times = [];
  let non2xx = 0;
  const until = performance.now() + durationS * 1000;
  while (performance.now() < until) {
    const t0 = performance.now();
    const r = await request(target.url, target);
    times.push(performance.now() - t0);
    if (r.status < 200 || r.status > 299) non2xx++;
  }
  times.sort((a, b) => a - b);
  return {
    n: times.length,
    p50: round(percentile(times, 50), 3),
    p90: round(percentile(times, 90), 3),
    p99: round(percentile(times, 99), 3),
    mean: round(times.reduce((a, b) => a + b, 0) / times.length, 3),
    non2xx,
  };
}

export function ensureDir(p) {
  mkdirSync(p, { recursive: true });
  return p;
}
