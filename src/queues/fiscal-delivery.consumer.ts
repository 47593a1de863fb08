import type { Env } from "../env";
import { createDb } from "../storage/db";
import { transactionLog } from "../storage/upstream-calls";
import { deliverFiscalMessage, deliverPiMessages } from "../domain/fiscal/delivery";
import { accountStub, accountStubByHex } from "../domain/funds/accounts";
import { createLogger, errorKind } from "../lib/logger";

type FiscalQueueMessage =
  | { type: "fiscal.deliver"; messageId: string; attempt: number; requestId?: string }
  | { type: "fiscal.deliver-pi"; account: string; messageId: string; token: string }
  | { type: "funds.flush"; account: string }
  | { type: "funds.reproject"; tenantId: string; headOfAccount: string; ssuCode: string };

const str = (v: unknown) => typeof v === "string" && v.length > 0 && v.length <= 256;

function parse(b: unknown): FiscalQueueMessage | null {
  if (!b || typeof b !== "object") return null;
  const m = b as Record<string, unknown>;
  if (m.type === "fiscal.deliver" && str(m.messageId) && Number.isInteger(m.attempt)) return m as FiscalQueueMessage;
  if (m.type === "fiscal.deliver-pi" && str(m.account) && str(m.messageId) && str(m.token)) return m as FiscalQueueMessage;
  if (m.type === "funds.flush" && str(m.account)) return m as FiscalQueueMessage;
  // Queued by the sweep before the objects projected themselves: now a flush of that account.
  if (m.type === "funds.reproject" && str(m.tenantId) && str(m.headOfAccount) && str(m.ssuCode)) return m as FiscalQueueMessage;
  return null;
}

/**
 * The fiscal queue: deliveries of signed messages to iFIX (D1's outbox, and PIs' disburses handed
 * off by their account's object), and the sweep's flushes of funds accounts. Each message is acked or
 * retried alone; every path is idempotent (attempt claims, hand-off tokens), so a redelivery changes
 * nothing.
 */
export async function consumeFiscalDelivery(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const log = createLogger({ queue: batch.queue });
  const record = transactionLog(createDb(env.DB), (p) => ctx.waitUntil(p));
  const failed = (msg: Message<unknown>, type: string, err: unknown) => {
    log.error("fiscal queue message failed", { kind: errorKind(err), type });
    msg.retry({ delaySeconds: 5 });
  };
  // PIs' disburses go together: their D1 rows are written in one batch before the posts and one after.
  const pis: { msg: Message<unknown>; body: Extract<FiscalQueueMessage, { type: "fiscal.deliver-pi" }> }[] = [];
  const others = batch.messages.flatMap((msg) => {
    const body = parse(msg.body);
    if (!body) {
      log.warn("unknown fiscal queue message dropped");
      msg.ack();
      return [];
    }
    if (body.type === "fiscal.deliver-pi") {
      pis.push({ msg, body });
      return [];
    }
    return [{ msg, body }];
  });
  await Promise.all([
    ...others.map(async ({ msg, body }) => {
      try {
        if (body.type === "fiscal.deliver")
          await deliverFiscalMessage(
            env,
            body.messageId,
            body.attempt,
            typeof body.requestId === "string" ? body.requestId.slice(0, 128) : undefined,
            record,
          );
        else if (body.type === "funds.flush") await accountStubByHex(env, body.account)?.kick();
        else if (body.type === "funds.reproject") await accountStub(env, body).kick();
        msg.ack();
      } catch (err) {
        failed(msg, body.type, err);
      }
    }),
    (async () => {
      if (!pis.length) return;
      const results = await deliverPiMessages(
        env,
        pis.map((p) => p.body),
        record,
      ).catch((err: unknown) => pis.map((): PromiseSettledResult<unknown> => ({ status: "rejected", reason: err })));
      results.forEach((r, i) => {
        if (r.status === "fulfilled") pis[i].msg.ack();
        else failed(pis[i].msg, "fiscal.deliver-pi", r.reason);
      });
    })(),
  ]);
}
