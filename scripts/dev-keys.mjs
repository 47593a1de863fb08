// Development and test keys, generated fresh on each machine: nothing secret is committed.
import { generateKeyPairSync, randomBytes } from "node:crypto";

const b64url = (buf) => buf.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

export function rsaPair() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** The people the local Cloudflare Access stand-in offers, one per console role (development only). */
export const DEV_PEOPLE = [
  { email: "viewer@amrit.local", role: "viewer" },
  { email: "operator@amrit.local", role: "operator" },
  { email: "admin@amrit.local", role: "admin" },
];

/**
 * The console's Cloudflare Access settings for a local run: the sandbox's stand-in as the team
 * domain, a random application tag, and a role for each development person. Kept apart from
 * `gateway` so the Worker tests (which take `gateway` as bindings) sign in without Access unless a
 * test switches it on.
 */
export function devAccessVars(sandboxUrl) {
  return {
    CF_ACCESS_TEAM_DOMAIN: `${sandboxUrl}/access`,
    CF_ACCESS_AUD: `dev-${randomBytes(16).toString("hex")}`,
    CONSOLE_ROLES: JSON.stringify(Object.fromEntries(DEV_PEOPLE.map((p) => [p.email, p.role]))),
  };
}

/** Everything the gateway and the sandbox need to talk to each other, for one machine or one test run. */
export function generateDevKeys({ gatewayUrl, sandboxUrl }) {
  const gateway = rsaPair();
  const ifix = rsaPair();
  const gatewaySenderId = `amrit@${gatewayUrl}`;
  const ifixSenderId = `ifix@${sandboxUrl}/ifix`;
  return {
    gateway: {
      ADMIN_API_KEY: `adm_${b64url(randomBytes(24))}`,
      JWT_SIGNING_KEY: `k${Date.now().toString(36)}:${b64url(randomBytes(32))}`,
      ASSAM_BASE_URL: `${sandboxUrl}/assam`,
      ASSAM_CLIENT_ID: "sandbox-amrit",
      ASSAM_CLIENT_SECRET: b64url(randomBytes(24)),
      UMANG_BASE_URL: `${sandboxUrl}/umang/ws1/1.0`,
      UMANG_API_TOKEN: b64url(randomBytes(24)),
      UMANG_TKN: "sandbox-tkn",
      UMANG_USER_ID: "sandbox-user",
      UMANG_CLIENT_ID: "SBX_SANDBOX",
      UMANG_CLIENT_SECRET: b64url(randomBytes(24)),
      IFIX_BASE_URL: `${sandboxUrl}/ifix`,
      IFIX_SENDER_ID: gatewaySenderId,
      IFIX_RECEIVER_ID: ifixSenderId,
      IFIX_CALLBACK_URL: `${gatewayUrl}/ifix/v1`,
      IFIX_SIGNING_KEY: gateway.privatePem,
      IFIX_TRUSTED_KEYS: JSON.stringify({ [ifixSenderId]: [ifix.publicPem] }),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    },
    access: devAccessVars(sandboxUrl),
    sandbox: {
      ifixSenderId,
      ifixPrivatePem: ifix.privatePem,
      ifixPublicPem: ifix.publicPem,
      gatewaySenderId,
      gatewayPublicPem: gateway.publicPem,
    },
  };
}

// dotenv: single quotes are literal (for JSON values); double quotes expand \n (for PEM keys).
const quote = (v) => (v.includes("\n") ? JSON.stringify(v) : `'${v}'`);
const toDevVars = (vars) =>
  Object.entries(vars)
    .map(([k, v]) => `${k}=${quote(String(v))}`)
    .join("\n") + "\n";

/**
 * The two .dev.vars files for a local gateway + sandbox pair: the gateway's (ENVIRONMENT=development,
 * its keys, the console's Access settings, any extra variables) and the sandbox's (SANDBOX_CONFIG:
 * the credentials and keys it shares with the gateway, and the people the Access stand-in offers).
 */
export function devVarsFiles(keys, extraGatewayVars = {}) {
  const sandboxConfig = {
    assam: { clientId: keys.gateway.ASSAM_CLIENT_ID, clientSecret: keys.gateway.ASSAM_CLIENT_SECRET },
    umang: { apiToken: keys.gateway.UMANG_API_TOKEN, clientId: keys.gateway.UMANG_CLIENT_ID, clientSecret: keys.gateway.UMANG_CLIENT_SECRET },
    ifix: {
      senderId: keys.sandbox.ifixSenderId,
      privateKeyPem: keys.sandbox.ifixPrivatePem,
      trustedKeys: { [keys.sandbox.gatewaySenderId]: [keys.sandbox.gatewayPublicPem] },
    },
    access: { people: DEV_PEOPLE.map((p) => ({ email: p.email, note: p.role })) },
  };
  return {
    gateway:
      "# Development only: written with fresh random keys. Never use these anywhere else.\n" +
      toDevVars({ ENVIRONMENT: "development", ...keys.gateway, ...(keys.access ?? {}), ...extraGatewayVars }),
    sandbox: "# Development only.\n" + toDevVars({ SANDBOX_CONFIG: JSON.stringify(sandboxConfig) }),
  };
}

/** Reads a .dev.vars file written by devVarsFiles. */
export function parseDevVars(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2].replace(/^'(.*)'$/, "$1");
  }
  return out;
}
