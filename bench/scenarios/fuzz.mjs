// 6. Bad input: a fast-check run over every route of /openapi.json (body, headers, path params and
// query) against the built bundle: zero 5xx, every error in the contract's envelope, and no change to
// any D1 table from a rejected (4xx) request.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { createClient, log, openapi, startStack } from "../lib/harness.mjs";
import { d1 } from "../lib/api.mjs";

const ALL_SCOPES = ["claims:write", "claims:read", "health", "fiscal:write", "fiscal:read", "funds:write", "funds:read", "ops"];
// The transaction log of portal calls records calls whose answer was a 4xx by design (CONTRACT §6).
const EXCLUDED_TABLES = new Set(["upstream_calls", "bench_migrations", "d1_migrations"]);

function resolve(doc, schema) {
  let s = schema;
  for (let i = 0; s?.$ref && i < 10; i++)
    s = s.$ref
      .split("/")
      .slice(1)
      .reduce((o, k) => o?.[k], doc);
  return s ?? {};
}

/** Values shaped like the schema (right keys, often right types), mixed with arbitrary JSON. */
function arbFromSchema(doc, schema, depth = 0) {
  const s = resolve(doc, schema);
  const anything = fc.jsonValue({ maxDepth: 2 });
  if (depth > 4) return anything;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return fc.oneof(...alts.map((a) => arbFromSchema(doc, a, depth + 1)), anything);
  if (s.enum) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...s.enum) }, { weight: 1, arbitrary: anything });
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case "object": {
      const props = s.properties ?? {};
      const record = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, arbFromSchema(doc, v, depth + 1)]));
      const shaped = fc.record(record, { requiredKeys: [] });
      return fc.oneof(
        { weight: 4, arbitrary: shaped },
        { weight: 1, arbitrary: fc.tuple(shaped, fc.string({ maxLength: 8 }), anything).map(([o, k, v]) => ({ ...o, [k || "extra"]: v })) },
        { weight: 1, arbitrary: anything },
      );
    }
    case "array":
      return fc.oneof(
        { weight: 4, arbitrary: fc.array(arbFromSchema(doc, s.items ?? {}, depth + 1), { maxLength: 3 }) },
        { weight: 1, arbitrary: anything },
      );
    case "string":
      return fc.oneof(
        { weight: 2, arbitrary: s.format === "uuid" ? fc.uuid() : fc.string({ maxLength: 30 }) },
        {
          weight: 1,
          arbitrary: fc.constantFrom("", " ", "2026-13", "2026-01", "AS-ASHA-000001", "' OR 1=1 --", "\u0000", "😀".repeat(50), "a".repeat(5000)),
        },
        { weight: 1, arbitrary: anything },
      );
    case "integer":
    case "number":
      return fc.oneof(
        fc.integer(),
        fc.double({ noNaN: false }),
        fc.constantFrom(0, -1, 0.1, 0.005, 1e21, Number.MAX_SAFE_INTEGER + 2, 300, 12.345),
        anything,
      );
    case "boolean":
      return fc.oneof(fc.boolean(), anything);
    default:
      return anything;
  }
}

const segment = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.uuid(),
  fc.constantFrom("..", "%00", "' OR 1=1 --", "😀", "a".repeat(300), "-1", "0", "AS-ASHA-000001"),
);
const headerName = fc.constantFrom("X-Request-Id", "Idempotency-Key", "X-Health-Token", "Accept", "X-Forwarded-For", "If-None-Match", "X-Custom");
const headerValue = fc.oneof(
  fc.string({ maxLength: 60 }).filter((v) => /^[\t\x20-\x7e]*$/.test(v)),
  fc.constantFrom("Bearer x", "text/csv", "a".repeat(2000), "*/*"),
);

async function snapshot(db) {
  const tables = (
    await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all()
  ).results
    .map((t) => t.name)
    .filter((n) => !EXCLUDED_TABLES.has(n));
  const rows = await db.batch(tables.map((t) => db.prepare(`SELECT * FROM "${t}"`)));
  return Object.fromEntries(tables.map((t, i) => [t, createHash("sha256").update(JSON.stringify(rows[i].results)).digest("hex").slice(0, 16)]));
}

export default {
  name: "fuzz",
  title: "Bad input: fast-check over every route's body, headers and params",
  async run({ bundles, quick }) {
    const stack = await startStack(bundles);
    try {
      const doc = await openapi(stack);
      const client = await createClient(stack, ALL_SCOPES, "bench fuzz");
      const db = await d1(stack);
      const perOp = quick ? 10 : 24;
      const failures = [];
      const perStatus = {};
      let requests = 0;
      let rejected = 0;
      let rejectedChecked = 0;
      const ops = [];
      for (const [path, item] of Object.entries(doc.paths ?? {}))
        for (const [method, op] of Object.entries(item))
          if (["get", "post", "put", "patch", "delete"].includes(method)) ops.push({ path, method: method.toUpperCase(), op });
      for (const { path, method, op } of ops) {
        const bodySchema = op.requestBody?.content?.["application/json"]?.schema;
        const body = bodySchema ? arbFromSchema(doc, bodySchema) : fc.jsonValue({ maxDepth: 2 });
        const credentials = fc.oneof(
          { weight: 6, arbitrary: fc.constant(path.startsWith("/v1/admin") ? "admin" : "client") },
          { weight: 1, arbitrary: fc.constantFrom("none", "junk-bearer", "junk-key", "admin", "client") },
        );
        const contentType = fc.oneof(
          { weight: 5, arbitrary: fc.constant("application/json") },
          { weight: 1, arbitrary: fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-8", "") },
        );
        const rawBody = fc.oneof(
          { weight: 8, arbitrary: body.map((b) => JSON.stringify(b)) },
          { weight: 1, arbitrary: fc.constantFrom("{", "", "null", "[]", '{"a":1,"a":2}', "\u0000") },
          { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
        );
        const query = fc.dictionary(
          fc.constantFrom("limit", "cursor", "period", "status", "ashaId", "tenantId", "x"),
          fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("-1", "0", "10000", "2026-01", "ACCEPTED")),
          { maxKeys: 3 },
        );
        const extraHeaders = fc.dictionary(headerName, headerValue, { maxKeys: 3 });
        await fc.assert(
          fc.asyncProperty(
            fc.array(segment, { minLength: 3, maxLength: 3 }),
            rawBody,
            query,
            extraHeaders,
            credentials,
            contentType,
            async (segs, raw, q, extra, cred, type) => {
              let i = 0;
              const concrete = path.replace(/{(\w+)}/g, () => encodeURIComponent(segs[i++ % segs.length]));
              const qs = new URLSearchParams(q).toString();
              const url = `${stack.topo.gatewayUrl}${concrete}${qs ? `?${qs}` : ""}`;
              const headers = { ...extra };
              // Health routes need the end user's token: usually send one so validation beyond it is reached.
              if (path.startsWith("/v1/health") && !headers["X-Health-Token"] && segs[0].length % 5 !== 0)
                headers["X-Health-Token"] = `Bearer ${encodeURIComponent(segs[1]) || "t"}`;
              if (cred === "client") headers["X-API-Key"] = client.apiKey;
              if (cred === "admin") headers["X-API-Key"] = stack.topo.keys.gateway.ADMIN_API_KEY;
              if (cred === "junk-bearer") headers.Authorization = "Bearer eyJhbGciOiJub25lIn0.e30.";
              if (cred === "junk-key") headers["X-API-Key"] = "not-a-key";
              const hasBody = method !== "GET" && method !== "DELETE";
              if (hasBody && type) headers["Content-Type"] = type;
              const mutating = method !== "GET";
              const before = mutating ? await snapshot(db) : null;
              let res;
              try {
                res = await fetch(url, { method, headers, body: hasBody ? raw : undefined });
              } catch (err) {
                failures.push(`${method} ${concrete}: network error ${err.message}`);
                return;
              }
              const text = await res.text();
              requests++;
              perStatus[res.status] = (perStatus[res.status] ?? 0) + 1;
              if (res.status >= 500) failures.push(`${method} ${concrete} → ${res.status} ${text.slice(0, 200)}`);
              if (res.status >= 400 && res.status < 500) {
                rejected++;
                let envelope = null;
                try {
                  envelope = JSON.parse(text);
                } catch {
                  /* not JSON */
                }
                const oauthShape = path === "/v1/auth/token" && typeof envelope?.error === "string";
                if (!oauthShape && (!envelope?.error?.code || !envelope?.error?.requestId))
                  failures.push(`${method} ${concrete} → ${res.status} without the error envelope: ${text.slice(0, 120)}`);
                if (mutating) {
                  rejectedChecked++;
                  const after = await snapshot(db);
                  const changed = Object.keys(after).filter((t) => after[t] !== before[t]);
                  if (changed.length) failures.push(`${method} ${concrete} → ${res.status} changed ${changed.join(", ")}`);
                }
              }
            },
          ),
          { numRuns: perOp, seed: 20261122, endOnFailure: false },
        );
      }
      log(`fuzz: ${requests} requests over ${ops.length} operations; ${JSON.stringify(perStatus)}; ${failures.length} failures`);
      const fiveXX = Object.entries(perStatus)
        .filter(([k]) => Number(k) >= 500)
        .reduce((a, [, v]) => a + v, 0);
      const stateChanges = failures.filter((f) => f.includes(" changed ")).length;
      return {
        method: `${perOp} fast-check cases per operation (${ops.length} operations from /openapi.json, seed 20261122): bodies shaped by each route's schema mixed with arbitrary JSON and broken JSON, random path params, query and headers, valid and junk credentials; D1 tables (all but ${[...EXCLUDED_TABLES].join(", ")}) hashed before and after every rejected non-GET request`,
        operations: ops.length,
        requests,
        perStatus,
        rejected,
        rejectedChecked,
        fiveXX,
        stateChanges,
        failures: failures.slice(0, 50),
        failureCount: failures.length,
        goals: [
          { goal: "zero 5xx", met: fiveXX === 0, figure: `${fiveXX} of ${requests}` },
          {
            goal: "zero state changes from rejected requests",
            met: stateChanges === 0,
            figure: `${stateChanges} of ${rejectedChecked} rejected writes`,
          },
        ],
      };
    } finally {
      await stack.stop();
    }
  },
  table(r) {
    const ok2xx = Object.entries(r.perStatus)
      .filter(([k]) => k < 400)
      .reduce((a, [, v]) => a + v, 0);
    return {
      rows: [
        ["operations", "requests", "2xx/3xx", "4xx", "5xx", "rejected writes checked", "state changes", "other failures"],
        [r.operations, r.requests, ok2xx, r.rejected, r.fiveXX, r.rejectedChecked, r.stateChanges, r.failureCount - r.fiveXX - r.stateChanges],
      ],
      notes: [r.method, ...r.failures.slice(0, 5).map((f) => `failure: \`${f.replace(/`/g, "'")}\``)],
    };
  },
};
