// `npm start`: the gateway and the sandbox portals on this machine, no configuration needed.
//  1. writes development keys into .dev.vars files on first run (fresh random values, never committed)
//  2. applies the D1 migrations to the local database
//  3. starts the sandbox portals (port 8788) and the gateway (port 8787) on the local runtime,
//     with scheduled handlers reachable (--test-scheduled)
//  4. loads the sample activity catalogue and prints a demo client with a working token
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEV_PEOPLE, devAccessVars, devVarsFiles, generateDevKeys, parseDevVars } from "./dev-keys.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const GATEWAY_PORT = Number(process.env.GATEWAY_PORT ?? 8787);
const SANDBOX_PORT = Number(process.env.SANDBOX_PORT ?? 8788);
// Debugger ports, settable so a second copy (e.g. the console's browser test) can run beside this one.
const GATEWAY_INSPECTOR_PORT = process.env.GATEWAY_INSPECTOR_PORT ?? "9229";
const SANDBOX_INSPECTOR_PORT = process.env.SANDBOX_INSPECTOR_PORT ?? "9230";
const gatewayUrl = `http://127.0.0.1:${GATEWAY_PORT}`;
const sandboxUrl = `http://127.0.0.1:${SANDBOX_PORT}`;
const wrangler = join(root, "node_modules", ".bin", "wrangler");

// 1. Development keys: generated once per machine, kept in git-ignored .dev.vars files.
const gatewayVars = join(root, ".dev.vars");
const sandboxVars = join(root, "src", "sandbox", ".dev.vars");
if (!existsSync(gatewayVars) || !existsSync(sandboxVars)) {
  const files = devVarsFiles(generateDevKeys({ gatewayUrl, sandboxUrl }));
  writeFileSync(gatewayVars, files.gateway);
  writeFileSync(sandboxVars, files.sandbox);
  console.log("[start] wrote development keys to .dev.vars and src/sandbox/.dev.vars");
}
// .dev.vars written before the console had Cloudflare Access: add the local stand-in's settings.
if (!parseDevVars(readFileSync(gatewayVars, "utf8")).CF_ACCESS_AUD) {
  const access = devAccessVars(sandboxUrl);
  appendFileSync(
    gatewayVars,
    Object.entries(access)
      .map(([k, v]) => `${k}='${v}'`)
      .join("\n") + "\n",
  );
  const sandboxConfig = JSON.parse(parseDevVars(readFileSync(sandboxVars, "utf8")).SANDBOX_CONFIG ?? "{}");
  sandboxConfig.access = { people: DEV_PEOPLE.map((p) => ({ email: p.email, note: p.role })) };
  writeFileSync(sandboxVars, `# Development only.\nSANDBOX_CONFIG='${JSON.stringify(sandboxConfig)}'\n`);
  console.log("[start] added the console's Cloudflare Access stand-in settings to .dev.vars");
}
const vars = parseDevVars(readFileSync(gatewayVars, "utf8"));

// 2. Migrations on the local D1 (the same files the tests apply).
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// 3. The sandbox and the gateway.
const children = [];
function run(name, args) {
  const child = spawn(wrangler, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  const prefix = (line) => `[${name}] ${line}`;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = "";
    stream.on("data", (d) => {
      buf += d;
      const lines = buf.split("\n");
      buf = lines.pop();
      for (const l of lines) if (l.trim()) process.stdout.write(prefix(l) + "\n");
    });
  }
  child.on("exit", (code) => {
    console.log(`[start] ${name} exited (${code}); stopping`);
    shutdown(code ?? 1);
  });
  children.push(child);
  return child;
}
function shutdown(code = 0) {
  for (const c of children) if (c.exitCode === null) c.kill("SIGINT");
  setTimeout(() => process.exit(code), 500);
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));

run("sandbox", [
  "dev",
  "-c",
  "src/sandbox/wrangler.jsonc",
  "--ip",
  "127.0.0.1",
  "--port",
  String(SANDBOX_PORT),
  "--inspector-port",
  SANDBOX_INSPECTOR_PORT,
  "--show-interactive-dev-session=false",
]);
run("gateway", [
  "dev",
  "--ip",
  "127.0.0.1",
  "--port",
  String(GATEWAY_PORT),
  "--test-scheduled",
  "--inspector-port",
  GATEWAY_INSPECTOR_PORT,
  "--show-interactive-dev-session=false",
]);

/** The people CONSOLE_ROLES gives a role, one line each, for the banner. */
function consolePeople(v) {
  let roles = {};
  try {
    roles = JSON.parse(v.CONSOLE_ROLES ?? "{}");
  } catch {
    /* shown as none */
  }
  const lines = Object.entries(roles).map(([email, role]) => `       ${email.padEnd(26)} ${role}`);
  return lines.length ? lines.join("\n") : "       (CONSOLE_ROLES names nobody)";
}

async function waitFor(url, ms = 90_000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

// 4. Catalogue and demo client.
try {
  await waitFor(`${sandboxUrl}/__sandbox/faults`);
  await waitFor(`${gatewayUrl}/healthz`);
  const admin = { "X-API-Key": vars.ADMIN_API_KEY, "Content-Type": "application/json" };
  const catalogue = await fetch(`${sandboxUrl}/assam/__sandbox/catalogue`);
  if (catalogue.ok) {
    const put = await fetch(`${gatewayUrl}/v1/admin/catalogue`, { method: "PUT", headers: admin, body: await catalogue.text() });
    console.log(`[start] sample activity catalogue loaded (${put.status})`);
  }
  const created = await fetch(`${gatewayUrl}/v1/admin/clients`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({
      name: "demo client",
      // Development only: every scope, so that every route in /docs can be tried (a real client gets
      // only what it needs; health:bridge and fiscal:disburse are for AMRIT's own services and finance).
      scopes: [
        "claims:write",
        "claims:read",
        "health",
        "health:bridge",
        "fiscal:write",
        "fiscal:read",
        "fiscal:disburse",
        "funds:write",
        "funds:read",
        "ops",
      ],
      tenants: ["*"],
    }),
  });
  const demo = await created.json();
  const tokenRes = await fetch(`${gatewayUrl}/v1/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: demo.clientId, client_secret: demo.clientSecret }),
  });
  const token = await tokenRes.json();
  console.log(`
──────────────────────────────────────────────────────────────────────────────
 AMRIT edge gateway   ${gatewayUrl}      (sandbox portals: ${sandboxUrl})
   API reference      ${gatewayUrl}/docs      OpenAPI: ${gatewayUrl}/openapi.json
   Operators' console ${gatewayUrl}/console
     signs people in through the local Cloudflare Access stand-in (${vars.CF_ACCESS_TEAM_DOMAIN ?? `${sandboxUrl}/access`}):
     open the console, choose "Sign in with Cloudflare Access", and pick
${consolePeople(vars)}
     the admin key (ADMIN_API_KEY in .dev.vars) is the break-glass sign-in: using it raises an alert

 Demo client (shown once; development only)
   clientId      ${demo.clientId}
   clientSecret  ${demo.clientSecret}
   apiKey        ${demo.apiKey}
   access_token  ${token.access_token ? token.access_token.slice(0, 24) + "… (expires in " + token.expires_in + " s)" : JSON.stringify(token)}
 Admin key       in .dev.vars (ADMIN_API_KEY)

 Try:
   curl -s -X POST ${gatewayUrl}/v1/auth/token -d grant_type=client_credentials \\
        -d client_id=${demo.clientId} -d client_secret=${demo.clientSecret}
   curl -s ${gatewayUrl}/v1/health/states -H "X-API-Key: ${demo.apiKey}"
 Fire the cron jobs by hand:
   curl "${gatewayUrl}/__scheduled?cron=30+20+L+*+*"     # monthly cut-off
   curl "${gatewayUrl}/__scheduled?cron=*/15+*+*+*+*"    # poll, sweep, alerts
──────────────────────────────────────────────────────────────────────────────
`);
} catch (err) {
  console.error(`[start] ${err.message}`);
  shutdown(1);
}
