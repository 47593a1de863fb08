import { describe, expect, it } from "vitest";
import { app } from "../../src/index";
import { call } from "../helpers/gateway";

// Routes that are deliberately not part of the JSON API document.
const UNDOCUMENTED = [/^\/$/, /^\/docs(\/|$)/, /^\/openapi\.json$/, /^\/console(\/|$)/];

describe("GET /openapi.json describes every route", () => {
  it("lists every method and path the app serves under /v1, /ifix and /healthz", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path.replace(/{(\w+)}/g, ":$1")}`);
    }
    const served = app.routes.filter((r) => r.method !== "ALL" && !UNDOCUMENTED.some((u) => u.test(r.path))).map((r) => `${r.method} ${r.path}`);
    const missing = [...new Set(served)].filter((s) => !documented.has(s));
    expect(missing).toEqual([]);
  });

  it("gives every /v1 operation a security requirement, a summary and error responses", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const problems: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      if (!path.startsWith("/v1/") || path === "/v1/auth/token") continue;
      for (const [method, op] of Object.entries(item)) {
        if (!op.security?.length) problems.push(`${method} ${path}: no security`);
        if (!op.summary) problems.push(`${method} ${path}: no summary`);
        if (!op.responses?.["401"]) problems.push(`${method} ${path}: no 401 response`);
      }
    }
    expect(problems).toEqual([]);
  });
});
