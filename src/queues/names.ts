/** Queue names as in wrangler.jsonc; a deployment may prefix them (staging-amrit-…), so match on the suffix. */
export const QUEUES = {
  claimsDelivery: "amrit-claims-delivery",
  fiscalDelivery: "amrit-fiscal-delivery",
  webhooks: "amrit-webhooks",
  deadLetters: "amrit-dead-letters",
  /** The dead-letter queue's own dead-letter queue (D1 down through all its retries). */
  deadLetterBackstop: "amrit-dead-letters-backstop",
} as const;

export const isQueue = (batchQueue: string, name: string) => batchQueue === name || batchQueue.endsWith(`-${name}`) || batchQueue.endsWith(name);
