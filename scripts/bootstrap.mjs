#!/usr/bin/env node
// Runs a project command under the project's own Node (the `node` package, 22.x), installing
// dependencies first (`npm ci`: exactly package-lock.json, never rewriting it) when they are missing
// or older than the lockfile, and copying the API reference's script into the static assets. This
// file itself runs on whatever Node the machine has (20 here), so it uses nothing newer than Node 18.
//
//   node scripts/bootstrap.mjs <bin> [args...]   e.g. node scripts/bootstrap.mjs vitest run
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join, delimiter } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules", ".bin");
const localNode = join(bin, process.platform === "win32" ? "node.cmd" : "node");

function needsInstall() {
  const marker = join(root, "node_modules", ".package-lock.json");
  if (!existsSync(localNode) || !existsSync(marker)) return true;
  const lock = join(root, "package-lock.json");
  return existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000;
}

if (needsInstall()) {
  console.error("[bootstrap] installing dependencies (npm ci)…");
  // npm is a .cmd on Windows: spawn it through the shell there.
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit", shell: process.platform === "win32" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// /docs serves Scalar's script from the Worker's static assets (public/), copied from node_modules.
const assets = spawnSync(process.execPath, [join(root, "scripts", "docs-assets.mjs")], { cwd: root, stdio: "inherit" });
if (assets.status !== 0) process.exit(assets.status ?? 1);

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error("usage: node scripts/bootstrap.mjs <command> [args…]");
  process.exit(2);
}
// Vite's note about its future native config loader is about vitest.config.ts's import style, not
// about anything a test run does; it would print on every run.
const env = { VITE_CONFIG_NATIVE_IGNORE_WARNING: "true", ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` };
const resolved = cmd === "node" ? localNode : existsSync(join(bin, cmd)) ? join(bin, cmd) : cmd;
const child = spawn(resolved, args, { cwd: root, stdio: "inherit", env });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
