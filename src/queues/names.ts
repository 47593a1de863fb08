/** Queue names as in wrangler.jsonc; a deployment may prefix them (staging-amrit-…), so match on the suffix. */
export const QUEUES = {
  claimsDelivery: "amrit-claims-delivery",
  fiscalDelivery: "amrit-fiscal-delivery",
  webhooks: "amrit-webhooks",
  deadLetters: "amrit-dead-letters",
} as const;

export const isQueue = (batchQueue: string, name: string) => batchQueue === name || batchQueue.endsWith(`-${name}`) || batchQueue.endsWith(name);
