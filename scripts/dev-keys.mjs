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
    sandbox: {
      ifixSenderId,
      ifixPrivatePem: ifix.privatePem,
      ifixPublicPem: ifix.publicPem,
      gatewaySenderId,
      gatewayPublicPem: gateway.publicPem,
    },
  };
}
