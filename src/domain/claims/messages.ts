import { z } from "zod";

/**
 * Messages on the CLAIMS_DELIVERY queue. Each carries `type` and `claimId` (or the page it stands
 * for), so dead letters name their subject.
 * - deliver: send the claim's stored wire body; only the message whose `dispatchId` the claim row
 *   currently holds may act (older and duplicate messages are acknowledged and dropped).
 * - poll: read the portal's status of a PENDING claim.
 * - cutoff-page: queue one page of SCHEDULED claims of ended periods, then enqueue the next page.
 * - sweep-page: re-queue one page of QUEUED claims whose lease expired, then the next page.
 */
export const ClaimsQueueMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("deliver"), claimId: z.string(), dispatchId: z.string() }),
  z.object({ type: z.literal("poll"), claimId: z.string() }),
  z.object({
    type: z.literal("cutoff-page"),
    runId: z.string(),
    upTo: z.string(),
    createdBefore: z.string().optional(),
    /**
     * The keyset cursor: the last claim of the page before (its period and id). A message queued by
     * an older version has `after` without `afterPeriod` (a cursor on id alone): it starts the walk
     * again from the first page, which skips what is already QUEUED and so queues nothing twice.
     */
    after: z.string().nullable(),
    afterPeriod: z.string().optional(),
    page: z.number().int(),
  }),
]);
export type ClaimsQueueMessage = z.infer<typeof ClaimsQueueMessage>;

export const deliverMessage = (claimId: string, dispatchId: string, delaySeconds?: number) => ({
  body: { type: "deliver" as const, claimId, dispatchId },
  delaySeconds,
});

export const WebhookQueueMessage = z.object({ type: z.literal("claim-webhook"), id: z.string() });
export type WebhookQueueMessage = z.infer<typeof WebhookQueueMessage>;
