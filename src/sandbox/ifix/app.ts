import { Hono } from "hono";
import { importPrivatePem, importPublicPem, jcs, sha256, sign, verify, type Scope as SignatureScope } from "./crypto";

/**
 * iFIX sandbox (seed 002): receives the seven message types at /ifix/v1/<type>, verifies their
 * signatures (401 with the seed's {"errors":[{code,message}]} when they do not verify), and answers
 * each with signed on-<type> callbacks carrying configurable statuses.
 *
 * The seed documents only the error shape of these endpoints: the 202 success body
 * {"message_id","status":{"status_code":"RECEIVED"}} is INVENTED for the sandbox. So is its handling of
 * a message_id seen before (the seed says nothing): the same message content again (a re-send, which
 * carries a fresh message_ts and signature) → 202 with no second effect; other content under the same
 * message_id → 409 DUPLICATE_MESSAGE_ID. With `duplicateAnswer: 409` (PUT /__sandbox/config) every
 * repeat gets 409, as a stricter receiver might answer.
 *
 * Callbacks: in tests the sandbox runs in Node and cannot reach the Worker, so they are queued and
 * drained at GET /__sandbox/callbacks for the test to post; with `deliverCallbacks` (npm start, in
 * workerd) the sandbox posts them itself to `${header.sender_uri}/on-<type>`.
 */
export const IFIX_SANDBOX_TYPES = ["program", "estimate", "sanction", "allocation", "disburse", "demand", "receipt"] as const;
export type IfixSandboxType = (typeof IFIX_SANDBOX_TYPES)[number];
const STATUSES = [
  "RECEIVED",
  "APPROVED",
  "REJECTED",
  "INPROCESS",
  "INITIATED",
  "ERROR",
  "SUCCESSFUL",
  "FAILED",
  "PARTIAL",
  "ACTIVE",
  "INACTIVE",
  "COMPLETED",
];

export interface IfixSandboxOptions {
  senderId?: string;
  /** The sandbox's private key (PKCS#8 PEM) for signing callbacks. */
  privateKeyPem?: string;
  /** sender_id → SPKI PEMs whose signatures the sandbox accepts (the gateway's). */
  trustedKeys?: Record<string, string[]>;
  /** Callback statuses per type, sent in order (e.g. disburse: ["INPROCESS", "SUCCESSFUL"]). */
  statuses?: Partial<Record<IfixSandboxType, string[]>>;
  signatureScope?: SignatureScope;
  /** Reuse the request's message_id in its callbacks, as the seed's examples do (default true). */
  reuseMessageId?: boolean;
  /** Post callbacks to the sender (npm start) instead of queueing them for a test to drain. */
  deliverCallbacks?: boolean;
  /** How a repeat of a known message_id with the same content is answered (default 202). */
  duplicateAnswer?: 202 | 409;
  /** Keeps background work alive (the sandbox Worker passes ctx.waitUntil). */
  schedule?: (p: Promise<unknown>) => void;
  fetch?: typeof fetch;
}

export const DEFAULT_STATUSES: Record<IfixSandboxType, string[]> = {
  program: ["ACTIVE"],
  estimate: ["APPROVED"],
  sanction: ["APPROVED"],
  allocation: ["APPROVED"],
  disburse: ["INPROCESS", "SUCCESSFUL"],
  demand: ["SUCCESSFUL"],
  receipt: ["SUCCESSFUL"],
};

interface Received {
  type: IfixSandboxType;
  messageId: string;
  transactionId: string | null;
  hash: string;
  /** How many times it was posted (re-sends included); it is accepted once. */
  posts: number;
  /** The header and signature of the latest re-send (each carries a fresh message_ts and signature). */
  lastHeader?: Record<string, unknown>;
  lastSignature?: string;
  signature: string;
  header: Record<string, unknown>;
  message: Record<string, unknown>;
  receivedAt: string;
}

export interface QueuedCallback {
  url: string;
  path: string;
  type: IfixSandboxType;
  requestMessageId: string;
  transactionId: string | null;
  status: string;
  body: string;
}

const errors = (code: string, message: string) => ({ errors: [{ code, message }] });
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

export function createIfixSandbox(opts: IfixSandboxOptions = {}) {
  const senderId = opts.senderId ?? "ifix@sandbox";
  const scope: SignatureScope = opts.signatureScope ?? "header+message";
  const reuseId = opts.reuseMessageId ?? true;
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  let statuses: Record<IfixSandboxType, string[]> = { ...DEFAULT_STATUSES, ...opts.statuses } as Record<IfixSandboxType, string[]>;
  const byTransaction = new Map<string, string[]>();
  const received = new Map<string, Received>();
  let queue: QueuedCallback[] = [];
  const counters = { posts: 0, accepted: 0, duplicates: 0, conflicts: 0, badSignatures: 0, callbacksDelivered: 0, callbackFailures: 0 };
  let duplicateAnswer: 202 | 409 = opts.duplicateAnswer ?? 202;

  let privateKey: Promise<CryptoKey> | undefined;
  const trusted = new Map<string, Promise<CryptoKey[]>>();
  const signingKey = () => (privateKey ??= importPrivatePem(opts.privateKeyPem ?? ""));
  const keysFor = (sender: string): Promise<CryptoKey[]> | undefined => {
    const pems = opts.trustedKeys?.[sender];
    if (!pems?.length) return undefined;
    if (!trusted.has(sender)) trusted.set(sender, Promise.all(pems.map(importPublicPem)));
    return trusted.get(sender);
  };

  async function buildCallback(type: IfixSandboxType, req: Received, status: string, index: number): Promise<QueuedCallback> {
    const header = {
      message_id: reuseId ? req.messageId : crypto.randomUUID(),
      message_ts: Math.floor(Date.now() / 1000),
      action: "update",
      sender_id: senderId,
      sender_uri: String(req.header.receiver_id ?? senderId),
      receiver_id: String(req.header.sender_id ?? ""),
    };
    const message = { ...req.message, status: { status_code: status, status_message: `sandbox ${status.toLowerCase()} (${index + 1})` } };
    const signature = await sign(await signingKey(), header, message, scope);
    // sender_uri is the full callback URL (".../on-<type>", as the seed's example); a bare base gets it appended.
    const uri = String(req.header.sender_uri ?? "").replace(/\/+$/, "");
    return {
      url: uri.endsWith(`/on-${type}`) ? uri : `${uri}/on-${type}`,
      path: `/ifix/v1/on-${type}`,
      type,
      requestMessageId: req.messageId,
      transactionId: req.transactionId,
      status,
      body: JSON.stringify({ signature, header, message }),
    };
  }

  async function deliver(cbs: QueuedCallback[]) {
    for (const cb of cbs) {
      try {
        const res = await doFetch(cb.url, { method: "POST", headers: { "Content-Type": "application/json" }, body: cb.body });
        if (res.ok) counters.callbacksDelivered++;
        else counters.callbackFailures++;
      } catch {
        counters.callbackFailures++;
      }
    }
  }

  const app = new Hono();

  app.post("/ifix/v1/:type", async (c) => {
    const type = c.req.param("type") as IfixSandboxType;
    if (!(IFIX_SANDBOX_TYPES as readonly string[]).includes(type)) return c.json(errors("NOT_FOUND", `no message type ${type}`), 404);
    counters.posts++;
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json(errors("INVALID_REQUEST", "body is not JSON"), 400);
    }
    if (!isObj(body) || !isObj(body.header) || !isObj(body.message) || typeof body.signature !== "string") {
      return c.json(errors("INVALID_REQUEST", "signature, header and message are required"), 400);
    }
    const { header, message } = body;
    const keys = typeof header.sender_id === "string" ? keysFor(header.sender_id) : undefined;
    if (!keys || !(await verify(await keys, body.signature, header, message, scope))) {
      counters.badSignatures++;
      return c.json(errors("INVALID_SIGNATURE", "signature of {header}+{message} does not verify with the sender's public key"), 401);
    }
    const messageId = header.message_id;
    if (typeof messageId !== "string" || !messageId) return c.json(errors("INVALID_REQUEST", "header.message_id is required"), 400);
    let hash: string;
    try {
      hash = await sha256(jcs(message));
    } catch {
      return c.json(errors("INVALID_REQUEST", "message is not I-JSON"), 400);
    }
    const seen = received.get(messageId);
    if (seen) {
      seen.posts++;
      seen.lastHeader = header;
      seen.lastSignature = body.signature;
      if (seen.hash !== hash) {
        counters.conflicts++;
        return c.json(errors("DUPLICATE_MESSAGE_ID", "message_id was used with different content"), 409);
      }
      counters.duplicates++;
      if (duplicateAnswer === 409) return c.json(errors("DUPLICATE_MESSAGE_ID", "message_id already received"), 409);
      return c.json({ message_id: messageId, status: { status_code: "RECEIVED" } }, 202);
    }
    const rec: Received = {
      type,
      messageId,
      transactionId: typeof message.transaction_id === "string" ? message.transaction_id : null,
      hash,
      posts: 1,
      signature: body.signature,
      header,
      message,
      receivedAt: new Date().toISOString(),
    };
    received.set(messageId, rec);
    counters.accepted++;
    const list = (rec.transactionId && byTransaction.get(rec.transactionId)) || statuses[type];
    const cbs = await Promise.all(list.map((s, i) => buildCallback(type, rec, s, i)));
    if (opts.deliverCallbacks) {
      const p = deliver(cbs);
      if (opts.schedule) opts.schedule(p);
      else {
        try {
          c.executionCtx.waitUntil(p);
        } catch {
          /* no execution context (Node): the promise runs on its own */
        }
      }
    } else queue.push(...cbs);
    return c.json({ message_id: messageId, status: { status_code: "RECEIVED" } }, 202);
  });

  // Inspection and control (not subject to fault injection).
  app.get("/__sandbox/callbacks", (c) => {
    const mid = c.req.query("messageId");
    const tid = c.req.query("transactionId");
    const take = (cb: QueuedCallback) => (!mid || cb.requestMessageId === mid) && (!tid || cb.transactionId === tid);
    const out = queue.filter(take);
    queue = queue.filter((cb) => !take(cb));
    return c.json({ callbacks: out });
  });
  app.get("/__sandbox/messages/:messageId", (c) => {
    const r = received.get(c.req.param("messageId"));
    if (!r) return c.json(errors("NOT_FOUND", "never received"), 404);
    return c.json(r);
  });
  app.get("/__sandbox/messages", (c) => {
    const tid = c.req.query("transactionId");
    return c.json({ messages: [...received.values()].filter((r) => !tid || r.transactionId === tid) });
  });
  app.get("/__sandbox/counters", (c) => c.json({ ...counters, queued: queue.length }));
  app.put("/__sandbox/statuses", async (c) => {
    const b = (await c.req.json()) as { type?: IfixSandboxType; transactionId?: string; statuses?: string[] };
    if (!Array.isArray(b.statuses) || b.statuses.some((s) => !STATUSES.includes(s)))
      return c.json(errors("INVALID_REQUEST", "statuses must be iFIX statuses"), 400);
    if (b.transactionId) byTransaction.set(b.transactionId, b.statuses);
    else if (b.type && (IFIX_SANDBOX_TYPES as readonly string[]).includes(b.type)) statuses = { ...statuses, [b.type]: b.statuses };
    else return c.json(errors("INVALID_REQUEST", "type or transactionId required"), 400);
    return c.json({ ok: true });
  });
  app.put("/__sandbox/config", async (c) => {
    const b = (await c.req.json()) as { duplicateAnswer?: number };
    if (b.duplicateAnswer !== 202 && b.duplicateAnswer !== 409) return c.json(errors("INVALID_REQUEST", "duplicateAnswer: 202 or 409"), 400);
    duplicateAnswer = b.duplicateAnswer;
    return c.json({ duplicateAnswer });
  });
  app.delete("/__sandbox/state", (c) => {
    received.clear();
    byTransaction.clear();
    queue = [];
    statuses = { ...DEFAULT_STATUSES, ...opts.statuses } as Record<IfixSandboxType, string[]>;
    duplicateAnswer = opts.duplicateAnswer ?? 202;
    for (const k of Object.keys(counters) as (keyof typeof counters)[]) counters[k] = 0;
    return c.body(null, 204);
  });

  return { app, received, counters, drainCallbacks: () => queue.splice(0, queue.length) };
}
