// Node side of the console's browser test: runs `npm start` (scripts/start.mjs) from a temporary copy
// of the project, with its own ports, local state and development keys, in its own process group.
// Plain ESM (like scripts/dev-keys.mjs) so the Worker's type-check needs no Node types.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { devVarsFiles, generateDevKeys, parseDevVars } from "../../scripts/dev-keys.mjs";

export const CHROMIUM = "/usr/bin/chromium";
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const RESULTS = join(ROOT, "test-results");
export const haveChromium = () => existsSync(CHROMIUM);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const readText = (path) => readFileSync(path, "utf8");
export const tempDir = (prefix) => mkdtempSync(join(tmpdir(), prefix));
export const ensureResults = () => mkdirSync(RESULTS, { recursive: true });
export const resultPath = (name) => join(RESULTS, name);
export const removeDir = (dir) => {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  } catch (err) {
    console.warn(`[e2e] could not remove ${dir}: ${err.message}`);
  }
};

export async function waitFor(what, fn, ms, every = 500) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      if (String(err?.message).startsWith("npm start exited")) throw err;
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(every);
  }
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

/**
 * Starts `node scripts/start.mjs` in a temporary copy of the project (node_modules linked) with
 * `extraVars` added to its .dev.vars, and waits until the gateway answers /healthz and the demo
 * client is printed. `stop()` ends the whole process group and reports whether anything survived.
 */
export async function startGateway(extraVars = {}) {
  const [gatewayPort, sandboxPort] = [await freePort(), await freePort()];
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  const sandbox = `http://127.0.0.1:${sandboxPort}`;
  const work = tempDir("amrit-console-e2e-");
  for (const f of ["package.json", "wrangler.jsonc", "tsconfig.json"]) cpSync(join(ROOT, f), join(work, f));
  for (const d of ["scripts", "migrations", "public"]) cpSync(join(ROOT, d), join(work, d), { recursive: true });
  const [gatewayInspector, sandboxInspector] = [await freePort(), await freePort()];
  cpSync(join(ROOT, "src"), join(work, "src"), {
    recursive: true,
    filter: (p) => !p.split(sep).includes(".wrangler") && !p.endsWith(".dev.vars"),
  });
  symlinkSync(join(ROOT, "node_modules"), join(work, "node_modules"), "dir");

  const files = devVarsFiles(generateDevKeys({ gatewayUrl: gateway, sandboxUrl: sandbox }), extraVars);
  writeFileSync(join(work, ".dev.vars"), files.gateway);
  writeFileSync(join(work, "src", "sandbox", ".dev.vars"), files.sandbox);

  let log = "";
  const child = spawn(process.execPath, ["scripts/start.mjs"], {
    cwd: work,
    detached: true, // its own process group: wrangler and workerd under it stop together
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      GATEWAY_PORT: String(gatewayPort),
      SANDBOX_PORT: String(sandboxPort),
      GATEWAY_INSPECTOR_PORT: String(gatewayInspector),
      SANDBOX_INSPECTOR_PORT: String(sandboxInspector),
      WRANGLER_SEND_METRICS: "false",
    },
  });
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));

  const groupAlive = () => {
    try {
      process.kill(-child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  async function stop() {
    if (groupAlive()) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* gone */
      }
      const until = Date.now() + 15_000;
      while (groupAlive() && Date.now() < until) await sleep(250);
    }
    const survived = groupAlive();
    if (survived) process.kill(-child.pid, "SIGKILL");
    await sleep(300);
    const stillAlive = groupAlive();
    removeDir(work);
    return { survived, stillAlive };
  }

  // The admin key and the console's Access settings, read back from the .dev.vars the start script runs with.
  const vars = parseDevVars(readFileSync(join(work, ".dev.vars"), "utf8"));
  const adminKey = vars.ADMIN_API_KEY;
  try {
    const exited = () => {
      if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode})`);
    };
    await waitFor("the gateway's /healthz", async () => (exited(), (await fetch(`${gateway}/healthz`)).ok), 150_000);
    await waitFor("npm start to finish setting up", async () => log.includes("Demo client") || child.exitCode !== null, 60_000);
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode})`);
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\n--- npm start output ---\n${log.slice(-4000)}`);
  }
  return {
    gateway,
    sandbox,
    adminKey,
    access: { team: vars.CF_ACCESS_TEAM_DOMAIN, aud: vars.CF_ACCESS_AUD, roles: JSON.parse(vars.CONSOLE_ROLES ?? "{}") },
    stop,
    log: () => log,
  };
}
