// `npm run setup`: its preflight and plan (pure), and its admin-API steps against the real Worker
// (the built bundle on workerd, fresh D1 with the migrations applied). node --test, Node 22.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { generateDevKeys } from "../../scripts/dev-keys.mjs";
import { planSetup, preflight, readCatalogue, runAdminSteps } from "../../scripts/lib/deployment.mjs";
import { buildGateway, root, startGateway } from "../../scripts/lib/worker.mjs";

const config = (env) => unstable_readConfig({ config: join(root, "wrangler.jsonc"), env });

describe("preflight: a deployment cannot go out half-configured", () => {
  it("lists every placeholder id and empty required var of the committed production env", () => {
    const problems = preflight(config("production"), "production");
    assert.ok(problems.some((p) => p.startsWith("d1_databases DB: database_id is a placeholder")));
    assert.ok(problems.some((p) => p.startsWith("kv_namespaces TOKEN_CACHE")));
    assert.ok(problems.some((p) => p.startsWith("routes:")));
    for (const v of ["ASSAM_BASE_URL", "UMANG_BASE_URL", "IFIX_TRUSTED_KEYS"]) assert.ok(problems.includes(`vars.${v} is empty (REQUIRED)`), v);
    assert.ok(!problems.some((p) => p.includes("secrets.required")), "every secret is declared required");
  });

  it("passes once ids and vars are filled in, and refuses plain http, a bad key set and the local top level", () => {
    const c = structuredClone(config("production"));
    c.d1_databases[0].database_id = "5c1b2d3e-0000-4000-8000-000000000001";
    c.kv_namespaces.forEach((kv, i) => {
      kv.id = `0f1e2d3c4b5a69788796a5b4c3d2e1f${i}`;
    });
    c.routes = [{ pattern: "amrit-gateway.example.gov.in", custom_domain: true }];
    Object.assign(c.vars, {
      ASSAM_BASE_URL: "https://incentives.assam.example",
      UMANG_BASE_URL: "https://umang.example/ws1/1.0",
      UMANG_TKN: "t",
      UMANG_USER_ID: "u",
      IFIX_BASE_URL: "https://ifix.example",
      IFIX_SENDER_ID: "amrit@https://amrit-gateway.example.gov.in",
      IFIX_RECEIVER_ID: "ifix@https://ifix.example",
      IFIX_CALLBACK_URL: "https://amrit-gateway.example.gov.in/ifix/v1",
      IFIX_TRUSTED_KEYS: '{"ifix@https://ifix.example": []}',
    });
    assert.deepEqual(preflight(c, "production"), []);
    assert.ok(
      preflight({ ...c, vars: { ...c.vars, ASSAM_BASE_URL: "http://incentives.assam.example" } }, "production").includes(
        "vars.ASSAM_BASE_URL must be an https:// URL",
      ),
    );
    assert.ok(preflight({ ...c, vars: { ...c.vars, IFIX_TRUSTED_KEYS: "[1]" } }, "production").some((p) => p.startsWith("vars.IFIX_TRUSTED_KEYS")));
    assert.ok(preflight({ ...c, workers_dev: true }, "production").includes("production must set workers_dev: false"));
    assert.ok(preflight(c, "").some((p) => p.startsWith("--env must be")));
  });

  it("plans migrations remote for a deployment and local for the npm start stack", () => {
    assert.equal(planSetup({ env: "staging" })[0].detail, "wrangler d1 migrations apply DB --remote --env staging");
    assert.equal(planSetup({ env: "", local: true })[0].detail, "wrangler d1 migrations apply DB --local");
    const plan = planSetup({ env: "production", catalogueFile: "c.json" });
    assert.deepEqual(
      plan.map((s) => [s.step, s.run]),
      [
        ["migrations", true],
        ["health", true],
        ["catalogue", true],
        ["clients", false],
        ["jwks", true],
        ["smoke", true],
      ],
    );
  });
});

describe("setup's admin steps against the real Worker", () => {
  let bundle;
  let gw;
  const keys = generateDevKeys({ gatewayUrl: "http://gateway.local", sandboxUrl: "http://sandbox.local" });
  before(async () => {
    // CI has just built it (npm run build): AMRIT_GATEWAY_BUNDLE=dist/index.js saves a second build.
    bundle = process.env.AMRIT_GATEWAY_BUNDLE ? { path: join(root, process.env.AMRIT_GATEWAY_BUNDLE), cleanup() {} } : buildGateway();
    gw = await startGateway(bundle.path, { ...keys.gateway, ENVIRONMENT: "test" });
    await gw.migrate();
  });
  after(async () => {
    await gw?.dispose();
    bundle?.cleanup();
  });

  it("loads the catalogue, creates each client once, prints secrets only through the callback, and finds the key set", async () => {
    const catalogue = readCatalogue(join(root, "docs", "setup", "catalogue.example.json"));
    const clients = [
      { name: "AMRIT claims", scopes: ["claims:write", "claims:read"] },
      { name: "Operators", scopes: ["ops"] },
    ];
    const shown = [];
    const logs = [];
    const first = await runAdminSteps({
      url: "http://gateway.local",
      adminKey: keys.gateway.ADMIN_API_KEY,
      catalogue,
      clients,
      fetchImpl: gw.fetch,
      log: (m) => logs.push(m),
      onCredentials: (c) => shown.push(c),
    });
    assert.equal(first.catalogue.status, 201);
    assert.deepEqual(
      first.created.map((c) => c.name),
      ["AMRIT claims", "Operators"],
    );
    assert.deepEqual(
      first.token.map((t) => t.status),
      [200, 200],
    );
    assert.equal(shown.length, 2);
    assert.ok(shown.every((c) => c.clientSecret && c.apiKey));
    assert.ok(!logs.join("\n").includes(shown[0].clientSecret), "no secret in the log lines");
    assert.ok(first.jwks.url === null ? first.jwks.status === 404 : first.jwks.url.endsWith("/.well-known/jwks.json"));
    assert.equal(first.openapi, 200);

    // A re-run changes nothing: the same catalogue version, no second client of the same name.
    const again = await runAdminSteps({
      url: "http://gateway.local",
      adminKey: keys.gateway.ADMIN_API_KEY,
      catalogue,
      clients,
      fetchImpl: gw.fetch,
      onCredentials: (c) => shown.push(c),
    });
    assert.deepEqual(again.created, []);
    assert.deepEqual(
      again.existing.map((c) => c.name),
      ["AMRIT claims", "Operators"],
    );
    assert.equal(shown.length, 2);
    const list = await (await gw.fetch("http://gateway.local/v1/admin/clients", { headers: { "X-API-Key": keys.gateway.ADMIN_API_KEY } })).json();
    assert.equal(list.items.filter((c) => c.name === "AMRIT claims").length, 1);
  });

  it("stops at once on a wrong admin key", async () => {
    await assert.rejects(
      runAdminSteps({ url: "http://gateway.local", adminKey: "wrong-key-wrong-key", fetchImpl: gw.fetch }),
      /admin key was refused/,
    );
  });
});
