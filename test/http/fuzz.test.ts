import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { call } from "../helpers/gateway";

/**
 * Property: for every documented operation, random bodies, params and queries never produce a 5xx,
 * every error uses the contract's envelope, and requests that are rejected change no D1 table.
 * Runs as the admin (exempt from per-client rate limits) so every route's validation is reached.
 */
// Eight cases per operation here (the benchmark's fuzz scenario runs 24 per operation, seeded).
const RUNS = 8;

async function tableCounts(): Promise<Record<string, number>> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'",
  ).all<{ name: string }>();
  const out: Record<string, number> = {};
  for (const { name } of tables.results) {
    // The request log and transaction log grow with every call by design.
    if (name === "upstream_calls") continue;
    out[name] = (await env.DB.prepare(`SELECT count(*) AS n FROM "${name}"`).first<{ n: number }>())!.n;
  }
  return out;
}

const segment = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("..", "%00", "' OR 1=1 --", "😀", "a".repeat(300), "-1", "0"));
const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }));

describe("fuzz: every route's body, params and query", () => {
  it("never answers 5xx and rejected requests change nothing", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const failures: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) {
        const M = method.toUpperCase();
        const before = await tableCounts();
        let accepted = false;
        await fc.assert(
          fc.asyncProperty(
            fc.array(segment, { minLength: 3, maxLength: 3 }),
            jsonish,
            fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
            fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-8"),
            async (segs, body, query, type) => {
              let i = 0;
              const concrete = path.replace(/{(\w+)}/g, () => encodeURIComponent(segs[i++ % segs.length]));
              const qs = new URLSearchParams(query).toString();
              const url = `${concrete}${qs ? `?${qs}` : ""}`;
              const hasBody = M !== "GET" && M !== "DELETE";
              const res = await call(M, url, {
                admin: path !== "/v1/auth/token" && !path.startsWith("/ifix/"),
                rawBody: hasBody ? JSON.stringify(body) : undefined,
                headers: hasBody ? { "Content-Type": type } : {},
              });
              if (res.status >= 500) failures.push(`${M} ${url} → ${res.status} ${res.text.slice(0, 200)}`);
              if (res.status < 400) accepted = true;
              else if (path !== "/v1/auth/token" && (!res.json?.error?.code || !res.json?.error?.requestId))
                failures.push(`${M} ${url} → ${res.status} without the error envelope`);
            },
          ),
          { numRuns: RUNS, seed: 20261121 },
        );
        if (!accepted) {
          const after = await tableCounts();
          // Audit rows may be written only by accepted admin actions; nothing was accepted here.
          if (JSON.stringify(after) !== JSON.stringify(before))
            failures.push(`${M} ${path}: rejected requests changed D1 (${JSON.stringify(before)} → ${JSON.stringify(after)})`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 180_000);
});
