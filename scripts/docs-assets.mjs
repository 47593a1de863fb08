#!/usr/bin/env node
// Copies the API reference's script (Scalar's standalone bundle, version pinned by package-lock.json)
// into the Worker's static assets, so /docs loads nothing from a CDN. Run by the bootstrap before
// every npm script and by wrangler's build step; copies only when the file differs. Node 18+.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "public", "docs", "assets");

/** The files the /docs page loads, relative to public/docs/assets, and where each comes from. */
export function docsAssetSources() {
  // The package's exports map hides package.json and dist/browser: find it where npm put it.
  const pkg = join(root, "node_modules", "@scalar", "api-reference");
  // Scalar's API reference (MIT): one self-contained script, no chunks, no fonts of its own.
  return [{ name: "scalar-api-reference.js", from: join(pkg, "dist", "browser", "standalone.js") }];
}

const same = (a, b) => existsSync(b) && statSync(a).size === statSync(b).size && readFileSync(a).equals(readFileSync(b));

export function copyDocsAssets() {
  mkdirSync(out, { recursive: true });
  let copied = 0;
  for (const { name, from } of docsAssetSources()) {
    const to = join(out, name);
    if (same(from, to)) continue;
    copyFileSync(from, to);
    copied++;
  }
  return copied;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const n = copyDocsAssets();
    if (n) console.error(`[docs-assets] copied ${n} file(s) into public/docs/assets`);
  } catch (err) {
    console.error(`[docs-assets] ${err.message} (run npm ci first)`);
    process.exit(1);
  }
}
