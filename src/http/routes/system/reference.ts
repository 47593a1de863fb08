import { html, raw } from "hono/html";

type Doc = { info: { title: string; version: string; description?: string }; paths?: object; components?: { schemas?: object } };
type Op = { summary?: string; description?: string; tags?: string[]; parameters?: unknown[]; requestBody?: { content?: Record<string, { schema?: unknown }> }; responses?: Record<string, { description?: string }>; security?: unknown[] };

const METHODS = ["get", "post", "put", "patch", "delete"];

/** The API reference page: rendered on the server from the same OpenAPI document, no CDN, no JS. */
export function renderReference(doc: Doc) {
  const byTag = new Map<string, { method: string; path: string; op: Op }[]>();
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const method of METHODS) {
      const op = item[method] as Op | undefined;
      if (!op) continue;
      const tag = op.tags?.[0] ?? "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, op });
    }
  }
  const json = (v: unknown) => JSON.stringify(v, null, 2);
  const sections = [...byTag.entries()].map(
    ([tag, ops]) => html`<section id="${tag}"><h2>${tag}</h2>${ops.map(
      ({ method, path, op }) => html`<details>
        <summary><span class="m ${method}">${method.toUpperCase()}</span> <code>${path}</code> — ${op.summary ?? ""}</summary>
        ${op.description ? html`<p>${op.description}</p>` : ""}
        ${op.security ? html`<p class="sec">Credentials: bearer token or X-API-Key</p>` : ""}
        ${op.parameters?.length ? html`<h4>Parameters</h4><pre>${json(op.parameters)}</pre>` : ""}
        ${op.requestBody ? html`<h4>Body</h4><pre>${json(op.requestBody.content?.["application/json"]?.schema ?? op.requestBody)}</pre>` : ""}
        <h4>Responses</h4><ul>${Object.entries(op.responses ?? {}).map(([s, r]) => html`<li><b>${s}</b> ${r.description ?? ""}</li>`)}</ul>
      </details>`,
    )}</section>`,
  );
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${doc.info.title} — API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:1rem;color:#1b1b1b}
nav a{margin-right:1rem}details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.4rem .7rem}
summary{cursor:pointer}pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:12px}
.m{display:inline-block;min-width:4.2rem;font-weight:600;font-family:monospace}.get{color:#0a6}.post{color:#05a}.put,.patch{color:#a60}.delete{color:#b00}
.sec{color:#555;font-size:13px}
</style></head><body>
<h1>${doc.info.title} <small>v${doc.info.version}</small></h1>
<p>${doc.info.description ?? ""}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
<nav>${[...byTag.keys()].map((t) => html`<a href="#${t}">${t}</a>`)}</nav>
${sections}
${doc.components?.schemas ? html`<section id="schemas"><h2>Schemas</h2>${Object.entries(doc.components.schemas).map(([n, s]) => html`<details><summary><code>${n}</code></summary><pre>${json(s)}</pre></details>`)}</section>` : raw("")}
</body></html>`;
}
