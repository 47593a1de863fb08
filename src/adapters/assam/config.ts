import { z } from "zod";
import { cfg, defineConfig } from "../../env";
import { webhookKeys } from "../../domain/claims/webhook-signature";

/**
 * The Assam adapter's configuration (CONTRACT §2). OAuth2 client credentials are preferred; the
 * static `ASSAM_API_KEY` is used only when no client credentials are set (seed 000 §2.2).
 */
export const getAssamConfig = defineConfig(
  "assam",
  z
    .object({
      ASSAM_BASE_URL: cfg.url(),
      ASSAM_CLIENT_ID: cfg.optional(),
      ASSAM_CLIENT_SECRET: cfg.optional(),
      ASSAM_API_KEY: cfg.optional(),
      PARTNER_CODE: cfg.withDefault("AMRIT"),
      ASSAM_MAX_RPS: cfg.int(20, 1, 10_000),
    })
    .superRefine((v, ctx) => {
      const hasId = !!v.ASSAM_CLIENT_ID;
      const hasSecret = !!v.ASSAM_CLIENT_SECRET;
      if (hasId !== hasSecret) {
        ctx.addIssue({ code: "custom", path: [hasId ? "ASSAM_CLIENT_SECRET" : "ASSAM_CLIENT_ID"], message: "set both client credentials" });
      }
      if (!hasId && !hasSecret && !v.ASSAM_API_KEY) {
        ctx.addIssue({ code: "custom", path: ["ASSAM_CLIENT_ID"], message: "set ASSAM_CLIENT_ID/ASSAM_CLIENT_SECRET or ASSAM_API_KEY" });
      }
    }),
);

export type AssamConfig = ReturnType<typeof getAssamConfig>;
export const usesOAuth = (c: AssamConfig) => !!(c.ASSAM_CLIENT_ID && c.ASSAM_CLIENT_SECRET);

/**
 * Claim webhooks (optional): validated on their own so that a webhook misconfiguration never stops
 * claim delivery. Status changes are still written to the webhook outbox while it is wrong, and sent
 * once it is fixed. CLAIMS_WEBHOOK_SECRET is one or more Standard Webhooks secrets (`whsec_<base64>`,
 * at least 16 bytes), comma-separated during a rotation: each request is signed with every one.
 */
export const getClaimsWebhookConfig = defineConfig(
  "claims webhook",
  z.object({ CLAIMS_WEBHOOK_URL: cfg.optionalUrl(), CLAIMS_WEBHOOK_SECRET: cfg.optional() }).superRefine((v, ctx) => {
    if (v.CLAIMS_WEBHOOK_URL && !v.CLAIMS_WEBHOOK_SECRET) {
      ctx.addIssue({ code: "custom", path: ["CLAIMS_WEBHOOK_SECRET"], message: "webhooks are signed: set the secret" });
    }
    if (v.CLAIMS_WEBHOOK_SECRET && !webhookKeys(v.CLAIMS_WEBHOOK_SECRET)) {
      ctx.addIssue({ code: "custom", path: ["CLAIMS_WEBHOOK_SECRET"], message: "whsec_<base64 of at least 16 bytes>, comma-separated" });
    }
  }),
);
