#!/usr/bin/env node
// `npm run bench [-- --only overhead,funds] [-- --quick]`
// Builds the gateway and the sandbox bundles, runs each scenario on workerd through the Miniflare API,
// and writes bench/results/<scenario>.json, bench/results/latest.json and bench/results/latest.md.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, buildBundles, ensureDir, log, machineInfo } from "./lib/harness.mjs";
import overhead from "./scenarios/overhead.mjs";
import claims from "./scenarios/claims.mjs";
import cutoff from "./scenarios/cutoff.mjs";
import funds from "./scenarios/funds.mjs";
import resilience from "./scenarios/resilience.mjs";
import fuzz from "./scenarios/fuzz.mjs";
import roundtrips from "./scenarios/roundtrips.mjs";
import floor from "./scenarios/floor.mjs";

const SCENARIOS = [overhead, roundtrips, claims, cutoff, funds, resilience, fuzz, floor];
let RESULTS = join(ROOT, "bench", "results");

function parseArgs(argv) {
  const args = { quick: false, only: null, fromRev: null, results: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") args.quick = true;
    else if (a === "--from-head") args.fromRev = "HEAD";
    else if (a === "--from") args.fromRev = argv[++i];
    else if (a === "--results") args.results = argv[++i];
    else if (a === "--state-dir") process.env.BENCH_STATE_DIR = argv[++i];
    else if (a === "--only") args.only = argv[++i].split(",");
    else if (a.startsWith("--only=")) args.only = a.slice(7).split(",");
    else if (a === "--help" || a === "-h") {
      console.log(
        `usage: npm run bench -- [--quick] [--from-head | --from <commit>] [--results <dir>] [--state-dir <dir>] [--only ${SCENARIOS.map((s) => s.name).join(",")}]`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (args.only) {
    const unknown = args.only.filter((n) => !SCENARIOS.some((s) => s.name === n));
    if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(", ")}`);
  }
  return args;
}

const cell = (v) => (v === null || v === undefined ? "–" : String(v).replace(/\|/g, "\\|"));
function mdTable(rows) {
  const [head, ...body] = rows;
  return [`| ${head.map(cell).join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...body.map((r) => `| ${r.map(cell).join(" | ")} |`)].join(
    "\n",
  );
}

export function renderMarkdown(latest) {
  const m = latest.machine;
  const out = [
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryMiB} MiB, ${m.os}; Node ${m.node}; workerd ${m.workerd}; miniflare ${m.miniflare}; ` +
      `autocannon ${m.autocannon}; local state (D1, KV, Durable Objects, queues) in ${m.stateDir ? `${m.stateDir.path} (${m.stateDir.fs ?? "?"})` : "the OS temp directory"}. Each scenario says when and from which commit it ran${latest.quick ? "; **--quick run (short durations, 1 run each): indicative only**" : ""}.`,
    "",
  ];
  const goals = [["scenario", "goal", "met", "figure"]];
  for (const s of SCENARIOS) {
    const r = latest.scenarios[s.name];
    if (!r) continue;
    out.push(`#### ${s.title}`, "");
    if (r.error) {
      out.push(`Not measured: ${r.error}`, "");
      continue;
    }
    if (r.skipped) {
      out.push(`Not measured: ${r.skipped}`, "");
      continue;
    }
    const t = s.table(r);
    out.push(mdTable(t.rows), "");
    out.push(
      `- run ${r.machine?.date?.slice(0, 16).replace("T", " ")} UTC on ${r.machine?.built ?? `the working tree at ${r.machine?.gitCommit}`}` +
        (r.loadAverageAtStart
          ? `; machine load average when it started: ${r.loadAverageAtStart.join(" / ")} (1 / 5 / 15 min, ${r.machine?.cores} cores)`
          : "") +
        (r.machine?.stateDir
          ? `; state in ${r.machine.stateDir.path} (${r.machine.stateDir.fs ?? "?"})`
          : "; state on disk (the OS temp directory)") +
        `; took ${r.elapsedS} s${r.quick ? "; **--quick**" : ""}`,
    );
    for (const n of t.notes ?? []) out.push(`- ${n}`);
    out.push("");
    for (const g of r.goals ?? []) goals.push([s.name, g.goal, g.met ? "yes" : "**no**", g.figure]);
  }
  if (goals.length > 1) out.push("#### Goals", "", mdTable(goals), "");
  return out.join("\n");
}

const MARKER = "<!-- latest results: written by bench/run.mjs after each full run -->";

/** Puts the latest table into bench/README.md, below its marker (full runs only: --quick figures are indicative). */
export function updateReadme(md) {
  const readme = join(ROOT, "bench", "README.md");
  if (!existsSync(readme)) return;
  const text = readFileSync(readme, "utf8");
  const at = text.indexOf(MARKER);
  if (at < 0) return;
  writeFileSync(readme, `${text.slice(0, at + MARKER.length)}\n\n${md.replace(/^####/gm, "###")}\n`);
  // The tree is kept formatted by Biome (CI checks it): format what was just written the same way.
  spawnSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", readme], { stdio: "ignore" });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // --results <dir>: write elsewhere (a trial run that must not replace the committed results).
  if (args.results) RESULTS = args.results;
  ensureDir(RESULTS);
  const machine = machineInfo();
  log(`machine: ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, workerd ${machine.workerd}`);
  log("building the gateway and sandbox bundles (wrangler deploy --dry-run)");
  const bundles = buildBundles({ fromRev: args.fromRev });
  machine.built = bundles.source;
  const latestPath = join(RESULTS, "latest.json");
  // --only keeps the other scenarios' latest results, so the table stays whole.
  const previous = args.only && existsSync(latestPath) ? JSON.parse(readFileSync(latestPath, "utf8")) : null;
  const latest = { machine, quick: args.quick, scenarios: { ...(previous?.scenarios ?? {}) } };
  const started = Date.now();
  for (const s of SCENARIOS) {
    if (args.only && !args.only.includes(s.name)) continue;
    // A diagnostic with no goal of its own runs only when named.
    if (s.onlyWhenNamed && !args.only) {
      log(`── ${s.name}: runs only when named (${s.onlyWhenNamed}): --only ${s.name}`);
      continue;
    }
    // --quick means about 3 minutes: a scenario whose point takes longer in real time (resilience waits
    // out a 5-minute delivery lease after the crash it causes) runs only when named with --only.
    if (args.quick && s.notInQuick && !args.only) {
      log(`── ${s.name}: not in --quick (${s.notInQuick}); run it with --only ${s.name}`);
      continue;
    }
    log(`── ${s.name}: ${s.title}`);
    const t0 = Date.now();
    // Other work on the machine (tests of other areas, say) competes for the same cores: recorded.
    const loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
    let result;
    try {
      result = await s.run({ bundles, quick: args.quick, machine });
    } catch (err) {
      console.error(err);
      result = { error: String(err?.message ?? err).slice(0, 500) };
    }
    const record = {
      scenario: s.name,
      title: s.title,
      machine,
      quick: args.quick,
      elapsedS: Math.round((Date.now() - t0) / 1000),
      loadAverageAtStart: loadAtStart,
      ...result,
    };
    writeFileSync(join(RESULTS, `${s.name}.json`), JSON.stringify(record, null, 2) + "\n");
    latest.scenarios[s.name] = record;
    log(`── ${s.name} done in ${record.elapsedS} s${result.error ? ` (error: ${result.error})` : ""}`);
  }
  writeFileSync(latestPath, JSON.stringify(latest, null, 2) + "\n");
  const md = renderMarkdown(latest);
  writeFileSync(join(RESULTS, "latest.md"), md + "\n");
  if (!args.quick && !args.results) updateReadme(md);
  console.log("\n" + md);
  log(`all done in ${Math.round((Date.now() - started) / 1000)} s; results in ${RESULTS}`);
  process.exit(0);
}

// `node bench/run.mjs --render`: rewrite latest.md (and the README table) from latest.json without running anything.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes("--render")) {
    const latest = JSON.parse(readFileSync(join(RESULTS, "latest.json"), "utf8"));
    const md = renderMarkdown(latest);
    writeFileSync(join(RESULTS, "latest.md"), md + "\n");
    if (!latest.quick) updateReadme(md);
    console.log(md);
  } else {
    main().catch((err) => {
      console.error(err);
      process.exit(1);
    });
  }
}
