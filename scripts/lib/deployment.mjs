// What `npm run setup` and `npm run deploy` know about a deployment, free of prompts and processes so
// that it can be tested: the preflight check of wrangler.jsonc for one environment, the plan of the
// setup steps, and the steps that go through the gateway's own admin API.
import { readFileSync } from "node:fs";

/** Vars a deployment cannot work without (the adapters answer 503 CONFIG_INVALID without them). */
export const REQUIRED_VARS = [
  "ASSAM_BASE_URL",
  "UMANG_BASE_URL",
  "UMANG_TKN",
  "UMANG_USER_ID",
  "IFIX_BASE_URL",
  "IFIX_SENDER_ID",
  "IFIX_RECEIVER_ID",
  "IFIX_CALLBACK_URL",
  "IFIX_TRUSTED_KEYS",
];
/** Vars that hold URLs: a deployment calls them over HTTPS only (seed 000 asks TLS 1.2+). */
export const URL_VARS = [
  "ASSAM_BASE_URL",
  "UMANG_BASE_URL",
  "IFIX_BASE_URL",
  "IFIX_CALLBACK_URL",
  "CLAIMS_WEBHOOK_URL",
  "ALERT_WEBHOOK_URL",
  "CF_ACCESS_TEAM_DOMAIN",
];
/** Every secret the Worker reads; the first group must be in `secrets.required` of each deployment. */
export const REQUIRED_SECRETS = [
  "ADMIN_API_KEY",
  "JWT_SIGNING_KEY",
  "ASSAM_CLIENT_ID",
  "ASSAM_CLIENT_SECRET",
  "UMANG_API_TOKEN",
  "UMANG_CLIENT_ID",
  "UMANG_CLIENT_SECRET",
  "IFIX_SIGNING_KEY",
  "DATA_ENCRYPTION_KEY",
];
export const OPTIONAL_SECRETS = ["ASSAM_API_KEY", "CLAIMS_WEBHOOK_SECRET", "ALERT_WEBHOOK_SECRET"];
export const DEPLOY_ENVS = ["staging", "production"];

const placeholder = (v) => typeof v === "string" && /REPLACE_WITH|^0+(-0+)*$/.test(v);

/**
 * Problems that would make a deployment of `env` go out half-configured, from its resolved
 * configuration (wrangler's `unstable_readConfig({ env })`). Empty = ready to deploy.
 */
export function preflight(config, env) {
  const problems = [];
  if (!DEPLOY_ENVS.includes(env)) problems.push(`--env must be one of ${DEPLOY_ENVS.join(", ")} (the top level is local only)`);
  for (const d of config.d1_databases ?? [])
    if (placeholder(d.database_id))
      problems.push(`d1_databases ${d.binding}: database_id is a placeholder (wrangler d1 create ${d.database_name} --location apac)`);
  for (const k of config.kv_namespaces ?? [])
    if (placeholder(k.id)) problems.push(`kv_namespaces ${k.binding}: id is a placeholder (wrangler kv namespace create ${k.binding} --env ${env})`);
  for (const r of config.routes ?? []) {
    const pattern = typeof r === "string" ? r : r.pattern;
    if (placeholder(pattern)) problems.push(`routes: ${pattern} is a placeholder (the gateway's hostname)`);
  }
  const vars = config.vars ?? {};
  for (const name of REQUIRED_VARS) if (typeof vars[name] !== "string" || vars[name].trim() === "") problems.push(`vars.${name} is empty (REQUIRED)`);
  for (const name of URL_VARS) {
    const v = vars[name];
    if (typeof v === "string" && v.trim() !== "" && !v.startsWith("https://")) problems.push(`vars.${name} must be an https:// URL`);
  }
  if (vars.ENVIRONMENT === "development") problems.push("vars.ENVIRONMENT must not be development in a deployment");
  if (typeof vars.IFIX_TRUSTED_KEYS === "string" && vars.IFIX_TRUSTED_KEYS.trim() !== "") {
    try {
      const keys = JSON.parse(vars.IFIX_TRUSTED_KEYS);
      if (!keys || typeof keys !== "object" || Array.isArray(keys)) throw new Error();
    } catch {
      problems.push('vars.IFIX_TRUSTED_KEYS must be a JSON object {"<sender_id>": [<key>, …]}');
    }
  }
  const required = config.secrets?.required ?? [];
  for (const s of REQUIRED_SECRETS) if (!required.includes(s)) problems.push(`secrets.required lacks ${s}`);
  if (env === "production" && config.workers_dev !== false) problems.push("production must set workers_dev: false");
  if (!config.observability?.enabled || config.observability?.redact_query_string !== true)
    problems.push("observability must be enabled with redact_query_string: true");
  return problems;
}

/** The steps `npm run setup` takes, in order, each with whether it runs and why not. */
export function planSetup({ env, local = false, catalogueFile, clientsFile, skipMigrations = false }) {
  return [
    {
      step: "migrations",
      run: !skipMigrations,
      detail: local ? "wrangler d1 migrations apply DB --local" : `wrangler d1 migrations apply DB --remote --env ${env}`,
    },
    { step: "health", run: true, detail: "GET /healthz until it answers 200" },
    {
      step: "catalogue",
      run: !!catalogueFile,
      detail: catalogueFile ? `PUT /v1/admin/catalogue from ${catalogueFile}` : "skipped: no --catalogue <file>",
    },
    {
      step: "clients",
      run: !!clientsFile,
      detail: clientsFile ? `POST /v1/admin/clients for each new name in ${clientsFile}` : "skipped: no --clients <file>",
    },
    { step: "jwks", run: true, detail: "GET /.well-known/jwks.json: the URL and key ids to give iFIX" },
    { step: "smoke", run: true, detail: "GET /openapi.json; a token for each client created" },
  ];
}

/** Reads and checks a catalogue file (the body of PUT /v1/admin/catalogue). */
export function readCatalogue(file) {
  const body = JSON.parse(readFileSync(file, "utf8"));
  if (!body || typeof body.version !== "string" || typeof body.effectiveFrom !== "string" || !Array.isArray(body.activities)) {
    throw new Error(`${file}: expected {"version","effectiveFrom","activities":[{"code","name","amount"}]}`);
  }
  return body;
}

/** Reads and checks a clients file: [{ "name", "scopes": [...], "tenants"?: [...] }]. */
export function readClients(file) {
  const list = JSON.parse(readFileSync(file, "utf8"));
  if (!Array.isArray(list) || list.some((c) => !c || typeof c.name !== "string" || !Array.isArray(c.scopes))) {
    throw new Error(`${file}: expected [{"name","scopes":[…],"tenants":[…]}]`);
  }
  const names = list.map((c) => c.name);
  if (new Set(names).size !== names.length) throw new Error(`${file}: each client name once (names make a re-run skip clients that exist)`);
  return list;
}

async function json(res) {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/**
 * The steps that go through the gateway's admin API against `url`. A re-run is safe: the catalogue
 * version is stored again unchanged, a client whose name exists is not created twice. New clients'
 * secrets are handed to `onCredentials` (printed once by the CLI, never written anywhere).
 */
export async function runAdminSteps({
  url,
  adminKey,
  catalogue,
  clients = [],
  fetchImpl = fetch,
  log = () => {},
  onCredentials = () => {},
  waitMs = 60_000,
}) {
  const base = url.replace(/\/+$/, "");
  const admin = { "X-API-Key": adminKey, "Content-Type": "application/json" };
  const result = { catalogue: null, created: [], existing: [], jwks: null, token: [] };

  const until = Date.now() + waitMs;
  for (;;) {
    const ok = await fetchImpl(`${base}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > until) throw new Error(`${base}/healthz did not answer 200`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  log(`gateway up at ${base}`);

  const check = await fetchImpl(`${base}/v1/admin/clients`, { headers: admin });
  if (check.status === 401 || check.status === 403) throw new Error("the admin key was refused (ADMIN_API_KEY of this deployment?)");
  if (check.status !== 200) throw new Error(`GET /v1/admin/clients answered ${check.status}: ${JSON.stringify(await json(check))}`);
  const existing = new Map(((await json(check))?.items ?? []).filter((c) => !c.revoked).map((c) => [c.name, c]));

  if (catalogue) {
    const put = await fetchImpl(`${base}/v1/admin/catalogue`, { method: "PUT", headers: admin, body: JSON.stringify(catalogue) });
    const body = await json(put);
    if (put.status !== 200 && put.status !== 201) throw new Error(`PUT /v1/admin/catalogue answered ${put.status}: ${JSON.stringify(body)}`);
    result.catalogue = { status: put.status, version: catalogue.version, activities: catalogue.activities.length };
    log(`catalogue ${catalogue.version} (${catalogue.activities.length} activities): ${put.status === 201 ? "stored" : "already stored"}`);
  }

  for (const spec of clients) {
    if (existing.has(spec.name)) {
      result.existing.push({ name: spec.name, clientId: existing.get(spec.name).clientId });
      log(`client "${spec.name}" exists (${existing.get(spec.name).clientId}): not created again; rotate it from the console if its secret is lost`);
      continue;
    }
    const res = await fetchImpl(`${base}/v1/admin/clients`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: spec.name, scopes: spec.scopes, tenants: spec.tenants ?? [] }),
    });
    const body = await json(res);
    if (res.status !== 201) throw new Error(`creating client "${spec.name}" answered ${res.status}: ${JSON.stringify(body)}`);
    result.created.push({ name: spec.name, clientId: body.clientId, scopes: body.scopes, tenants: body.tenants });
    onCredentials({ name: spec.name, ...body });
    const token = await fetchImpl(`${base}/v1/auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: body.clientId, client_secret: body.clientSecret }),
    });
    result.token.push({ name: spec.name, status: token.status });
  }

  const jwks = await fetchImpl(`${base}/.well-known/jwks.json`);
  if (jwks.status === 200) {
    const set = await json(jwks);
    result.jwks = { url: `${base}/.well-known/jwks.json`, kids: (set?.keys ?? []).map((k) => k.kid) };
  } else {
    result.jwks = { url: null, status: jwks.status };
  }

  const doc = await fetchImpl(`${base}/openapi.json`);
  result.openapi = doc.status;
  return result;
}
