import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import {
  FINAL_PI_STATUSES,
  PI_TRANSITIONS,
  type AccountKey,
  type AllotResult,
  type AllotmentType,
  type Balance,
  type CommitResult,
  type DeliveryState,
  type PiLogEntry,
  type PiRecord,
  type PiSource,
  type PiState,
  type PiStatus,
  type StatusResult,
} from "../domain/funds/types";
import { projectionStatements, type ProjectedAudit, type ProjectedPi, type ProjectedTxn } from "../domain/funds/projection";
import type { HeaderBase } from "../adapters/ifix/envelope";
import { createLogger, errorKind } from "../lib/logger";
import { paiseToRupees } from "../lib/money";
import { currentSealPrefix, needsReseal, reseal } from "../domain/fiscal/at-rest";
import { getRetentionConfig, PURGED } from "../domain/funds/retention";

/**
 * # One funds account: its ledger and its outbox
 *
 * One object per account (tenant + head of account + SSU) holds everything that moves its money, in
 * its own SQLite, each change in one synchronous `transactionSync` (no await inside, so no other
 * request interleaves; a SQLite CHECK makes an overdraft impossible in storage itself):
 * - `account`: balances in paise and `seq`, a counter bumped by every change (the projection's clock);
 * - `txns`: allotments, idempotent on txnId;
 * - `pis` and `pi_events`: payment instructions and their status log (the newest PI_LOG_KEEP events
 *   per PI are kept, with a count of all);
 * - `audit`: the audit entry of every money movement and status call, written in the same
 *   transaction as the movement (then projected to D1's audit_log and dropped here);
 * - `outbox`: each PI's disburse message, sealed (AES-GCM: it names beneficiaries), with the header
 *   fields fixed at creation. Committing a PI writes funds + PI + log + audit + outbox entry in one
 *   transaction: there is no moment at which funds are committed and the message that pays them is
 *   not recorded to go.
 *
 * The request builds and seals the disburse before it calls the object (sealing is async; the
 * transaction stays synchronous). It is signed when it goes out, by the delivery consumer: every
 * send, the first included, carries the same message_id and content with a fresh `message_ts` and
 * signature (CONTRACT v3 §7), and the fields that depend on the paying account (transaction_id =
 * piId, head of account, SSU, the program code of its initial allotment) are only known inside the
 * commit. The signing key is checked before any funds move, so a message cannot be committed that
 * the gateway could not sign.
 *
 * ## Delivery: the alarm hands the outbox to the FISCAL_DELIVERY queue until delivery takes it
 * pending ──alarm: lease token, sendBatch──▶ leased ──consumer: takeDelivery(token)──▶ taken
 *   ▲                                          │ lease expires (queue lost it, consumer died)
 *   └───────── deliveryResult(retry, delay) ◀──┴── re-handed with a new token
 * taken ──deliveryResult──▶ delivered (2xx, or iFIX's 409 to a re-send) · rejected (4xx) · failed
 * (attempts exhausted, dead-lettered). A callback from iFIX also marks it delivered. A crash at any
 * step leaves the entry pending or leased with an expiring lease, so the alarm sends it again: the
 * disburse reaches iFIX at least once, and iFIX keeps it once (it de-duplicates by message_id). A
 * PI FAILED before its disburse was taken cancels the entry: it is never sent.
 *
 * ## D1 is a projection
 * The alarm (and an allotment's own request, so its 201 is visible at once) copies balances, PI rows,
 * allotments and audit entries to D1 in batches, every statement seq-guarded (domain/funds/
 * projection.ts). Nothing reads D1 to decide anything about money. A crash between a commit and its
 * projection is repaired by the next alarm run (or the sweep's flush): the outbox is never in D1.
 *
 * ## paymentId uniqueness
 * A paymentId may span accounts (the account is chosen when head of account / SSU are left out), so
 * no account can decide alone: the FundsRegistry object of the paymentId's shard claims it first,
 * then calls this object (durable-objects/funds-registry.ts). A PI's id names this object's id, so
 * reading or moving it needs no lookup (domain/funds/pi-id.ts).
 *
 * ## Item 6: after iFIX acknowledged the disburse
 * only iFIX's callback, or the admin key with a reason (audited), may set a PI FAILED; a client gets
 * 409 INVALID_STATE. FAILED is final: a later SUCCESSFUL from iFIX is kept in the log (not
 * accepted, flagged as a conflict for reconciliation) and raises an alert, never silently lost.
 */

/** Status-log events kept per PI (the count of all is kept on the PI). */
export const PI_LOG_KEEP = 100;
/** How long a handed-off delivery may sit in the queue before the alarm hands it again. */
export const HANDOFF_LEASE_MS = 5 * 60_000;
/** Projection rounds carry at most this many seqs (each change touches ≤ 1 PI, 1 audit entry, 1 txn). */
const ROUND_SEQS = 100;
const MAX_ROUNDS = 10;
/**
 * Changes reach D1 this long after the first change not yet projected, so that a PI's commit and the
 * callbacks that follow it (after the delivery queue's batch wait, up to a second) go to D1 in one
 * batch instead of one each: with many accounts each sees few PIs at a time, and a projection per
 * change was the largest single difference in CPU per PI between one account and a hundred.
 * Hand-offs to delivery do not wait for it. D1 is a view that nothing about money reads (a PI by id
 * is read from the object); an allotment is still projected before its answer, and the sweep's kick
 * projects at once.
 */
export const PROJECT_AFTER_MS = 1000;
/** Retention and re-encryption run at most this often from the alarm (the sweep's flush also runs them). */
const HOUSEKEEPING_EVERY_MS = 6 * 3600_000;

/** Test-only crash points (honoured only when ENVIRONMENT=test): the object aborts right after the step. */
export type AccountCrashPoint = "after-commit" | "after-projection-batch" | "after-handoff-lease" | "before-handoff";

export interface CommitPiInput {
  account: AccountKey;
  piId: string;
  paymentId: string;
  ownerId: string;
  amount: number;
  beneficiaryCount: number;
  programCode: string | null;
  requestedHeadOfAccount: string | null;
  requestedSsuCode: string | null;
  messageId: string;
  /** The disburse message without the account's fields, sealed (aad = messageId). */
  payload: string;
  header: HeaderBase;
  actor: string;
  requestId: string | null;
}

export interface AllotInput {
  account: AccountKey;
  txnId: string;
  ownerId: string;
  type: AllotmentType;
  amount: number;
  programCode: string | null;
  actor: string;
  requestId: string | null;
}

export interface StatusInput {
  eventId: string;
  source: PiSource;
  actor: string;
  reason: string | null;
  requestId: string | null;
  /** For callbacks: the iFIX status as reported. */
  ifixStatus?: string | null;
}

/** What a delivery attempt needs: the sealed message and the fields only this account knows. */
export interface TakenDelivery {
  messageId: string;
  piId: string;
  attempt: number;
  ownerId: string;
  paymentId: string;
  amount: number;
  payload: string;
  header: HeaderBase;
  account: AccountKey;
  programCode: string | null;
  createdAt: string;
}

export type DeliveryOutcome =
  | { kind: "delivered"; httpStatus: number | null; note?: string }
  | { kind: "retry"; delayMs: number; httpStatus: number | null; error: string }
  | { kind: "rejected"; httpStatus: number | null; error: string }
  | { kind: "failed"; httpStatus: number | null; error: string };

export interface PiView {
  pi: PiRecord;
  log: PiLogEntry[];
  logTotal: number;
  /** The id of the oldest event returned, when older ones are kept (the next page's cursor). */
  logNext: number | null;
  delivery: DeliveryState | null;
  payload: string | null;
  conflict: string | null;
}

type PiRow = {
  pi_id: string;
  payment_id: string;
  amount: number;
  status: string;
  released: number;
  updated_seq: number;
  created_at: string;
  updated_at: string;
  owner_id: string | null;
  message_id: string | null;
  beneficiary_count: number | null;
  program_code: string | null;
  requested_hoa: string | null;
  requested_ssu: string | null;
  acked: number;
  ifix_status: string | null;
  final_at: string | null;
  event_count: number;
  conflict: string | null;
};

type OutboxRow = {
  message_id: string;
  pi_id: string;
  state: DeliveryState["state"];
  attempts: number;
  due_at: number;
  lease_until: number | null;
  lease_token: string | null;
  taken: number;
  payload: string;
  header: string;
  last_error: string | null;
  last_http_status: number | null;
  created_at: string;
  delivered_at: string | null;
};

const ABANDONED = "ABANDONED";

type AccountRow = { sanctioned: number; allotted: number; withdrawn: number; committed: number; seq: number };
const balanceOf = (r: AccountRow): Balance => ({
  sanctioned: r.sanctioned === 1,
  allotted: r.allotted,
  withdrawn: r.withdrawn,
  committed: r.committed,
  available: r.allotted - r.withdrawn - r.committed,
  seq: r.seq,
});
const isTest = (env: Env) => env.ENVIRONMENT === "test";

export class FundsAccount extends DurableObject<Env> {
  private sql: SqlStorage;
  /** The alarm time this instance has set (null: none, or unknown after a restart). */
  private alarmAt: number | null = null;
  private flushing: Promise<FlushReport> | null = null;
  private crashAt: AccountCrashPoint | null = null;
  private failProjections = 0;
  private failedRuns = 0;
  /** Test-only: hand-offs are made by `testHandOff` (the test then plays the consumer). */
  private holdHandoff = false;
  /**
   * Whether a committed transaction has recorded the account's key (it never changes once set), so
   * `ensureKey` need not write again. Set only after the transaction returns: one rolled back
   * (thrown) leaves it false.
   */
  private keyed = false;
  /**
   * When the oldest change not yet projected was made, as far as this instance knows (null: none
   * made here since the last complete projection; after a restart, what is unprojected goes at once).
   */
  private dirtySince: number | null = null;
  private projectAfterMs = PROJECT_AFTER_MS;
  /** Projection batches written to D1 by this instance (for tests). */
  private projectionBatches = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.migrate();
    // A restart finds its work again: pending projection or deliveries get an alarm.
    ctx.blockConcurrencyWhile(async () => {
      const at = await ctx.storage.getAlarm();
      this.alarmAt = at;
      const next = this.nextWork(Date.now());
      if (next !== null && (at === null || at > next)) await this.setAlarm(next);
    });
  }

  private migrate() {
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sanctioned INTEGER NOT NULL DEFAULT 0,
        allotted INTEGER NOT NULL DEFAULT 0,
        withdrawn INTEGER NOT NULL DEFAULT 0,
        committed INTEGER NOT NULL DEFAULT 0,
        seq INTEGER NOT NULL DEFAULT 0,
        CHECK (allotted - withdrawn - committed >= 0)
      );
      INSERT OR IGNORE INTO account (id) VALUES (1);
      CREATE TABLE IF NOT EXISTS txns (
        txn_id TEXT PRIMARY KEY, type TEXT NOT NULL, amount INTEGER NOT NULL, seq INTEGER NOT NULL, result TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS pis (
        pi_id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, amount INTEGER NOT NULL, status TEXT NOT NULL,
        released INTEGER NOT NULL DEFAULT 0, updated_seq INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS pis_updated_seq ON pis (updated_seq);
      CREATE TABLE IF NOT EXISTS pi_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE, pi_id TEXT NOT NULL, at TEXT NOT NULL, source TEXT NOT NULL,
        status_from TEXT, status_to TEXT NOT NULL, accepted INTEGER NOT NULL, released INTEGER NOT NULL DEFAULT 0, reason TEXT
      );
      CREATE INDEX IF NOT EXISTS pi_events_pi ON pi_events (pi_id, id);
      CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target_type TEXT NOT NULL,
        target_id TEXT, before TEXT, after TEXT, request_id TEXT
      );
      CREATE TABLE IF NOT EXISTS outbox (
        message_id TEXT PRIMARY KEY, pi_id TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL, lease_until INTEGER, lease_token TEXT, taken INTEGER NOT NULL DEFAULT 0,
        payload TEXT NOT NULL, header TEXT NOT NULL, last_error TEXT, last_http_status INTEGER,
        created_at TEXT NOT NULL, delivered_at TEXT
      );
      CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, due_at);
      CREATE INDEX IF NOT EXISTS outbox_pi ON outbox (pi_id);
    `);
    // Objects made before the ledger-and-outbox design: add what they lack (each ALTER once).
    const add = (table: string, column: string, decl: string) => {
      const cols = this.sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray();
      if (!cols.some((c) => c.name === column)) this.sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${decl}`);
    };
    add("account", "projected_seq", "INTEGER NOT NULL DEFAULT 0");
    add("account", "tenant_id", "TEXT");
    add("account", "head_of_account", "TEXT");
    add("account", "ssu_code", "TEXT");
    add("account", "program_code", "TEXT");
    add("account", "housekept_at", "INTEGER NOT NULL DEFAULT 0");
    add("txns", "owner_id", "TEXT");
    add("txns", "at", "TEXT");
    for (const [c, d] of [
      ["owner_id", "TEXT"],
      ["message_id", "TEXT"],
      ["beneficiary_count", "INTEGER"],
      ["program_code", "TEXT"],
      ["requested_hoa", "TEXT"],
      ["requested_ssu", "TEXT"],
      ["acked", "INTEGER NOT NULL DEFAULT 0"],
      ["ifix_status", "TEXT"],
      ["final_at", "TEXT"],
      ["event_count", "INTEGER NOT NULL DEFAULT 0"],
      ["conflict", "TEXT"],
    ] as const) {
      add("pis", c, d);
    }
    add("pi_events", "actor", "TEXT");
    this.sql.exec("CREATE INDEX IF NOT EXISTS pis_final ON pis (final_at) WHERE final_at IS NOT NULL");
  }

  // ------------------------------------------------------------------ reading

  private balance(): Balance {
    return balanceOf(this.sql.exec<AccountRow>("SELECT sanctioned, allotted, withdrawn, committed, seq FROM account WHERE id = 1").one());
  }

  /** Commits `amount` and takes the next seq in one statement; its RETURNING is the balance after. */
  private commitAndBump(amount: number): Balance {
    return balanceOf(
      this.sql
        .exec<AccountRow>(
          "UPDATE account SET committed = committed + ?, seq = seq + 1 WHERE id = 1 RETURNING sanctioned, allotted, withdrawn, committed, seq",
          amount,
        )
        .one(),
    );
  }

  private key(): (AccountKey & { programCode: string | null }) | null {
    const r = this.sql
      .exec<{ tenant_id: string | null; head_of_account: string | null; ssu_code: string | null; program_code: string | null }>(
        "SELECT tenant_id, head_of_account, ssu_code, program_code FROM account WHERE id = 1",
      )
      .one();
    return r.tenant_id && r.head_of_account && r.ssu_code
      ? { tenantId: r.tenant_id, headOfAccount: r.head_of_account, ssuCode: r.ssu_code, programCode: r.program_code }
      : null;
  }

  /** Every call names its account; the object records it once (the projection needs it). */
  private ensureKey(k: AccountKey) {
    if (this.keyed) return;
    this.sql.exec(
      "UPDATE account SET tenant_id = ?, head_of_account = ?, ssu_code = ? WHERE id = 1 AND tenant_id IS NULL",
      k.tenantId,
      k.headOfAccount,
      k.ssuCode,
    );
  }

  private bump(): number {
    return this.sql.exec<{ seq: number }>("UPDATE account SET seq = seq + 1 WHERE id = 1 RETURNING seq").one().seq;
  }

  private readPi(piId: string): PiRow | null {
    return this.sql.exec<PiRow>("SELECT * FROM pis WHERE pi_id = ?", piId).toArray()[0] ?? null;
  }

  private outboxOf(piId: string): OutboxRow | null {
    return this.sql.exec<OutboxRow>("SELECT * FROM outbox WHERE pi_id = ?", piId).toArray()[0] ?? null;
  }

  private state(r: PiRow): PiState {
    return {
      piId: r.pi_id,
      paymentId: r.payment_id,
      amount: r.amount,
      status: r.status as PiStatus,
      released: r.released === 1,
      updatedSeq: r.updated_seq,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }

  private record(r: PiRow): PiRecord {
    const k = this.key();
    return {
      ...this.state(r),
      ownerId: r.owner_id,
      tenantId: k?.tenantId ?? null,
      headOfAccount: k?.headOfAccount ?? null,
      ssuCode: k?.ssuCode ?? null,
      messageId: r.message_id,
      beneficiaryCount: r.beneficiary_count,
      programCode: r.program_code ?? k?.programCode ?? null,
      acked: r.acked === 1,
      ifixStatus: r.ifix_status,
      eventCount: r.event_count,
    };
  }

  private audit(seq: number, e: Omit<ProjectedAudit, "seq" | "at">, at: string) {
    this.sql.exec(
      "INSERT INTO audit (seq, at, actor, action, target_type, target_id, before, after, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      seq,
      at,
      e.actor,
      e.action,
      e.targetType,
      e.targetId,
      JSON.stringify(e.before ?? null),
      JSON.stringify(e.after ?? null),
      e.requestId,
    );
  }

  /**
   * Adds an event to a PI's log. The caller's own UPDATE of the PI's row counts it (`event_count =
   * event_count + 1`, or 1 for a new PI), and passes the count before it: the log is trimmed only
   * once it can hold more than PI_LOG_KEEP. (Rows from before event_count default to 0, so such a
   * PI's older events wait PI_LOG_KEEP more events to be trimmed: still bounded.)
   */
  private logEvent(
    piId: string,
    countBefore: number,
    e: {
      eventId: string;
      at: string;
      source: PiSource;
      from: string | null;
      to: string;
      accepted: boolean;
      released: boolean;
      reason: string | null;
      actor: string;
    },
  ) {
    this.sql.exec(
      "INSERT INTO pi_events (event_id, pi_id, at, source, status_from, status_to, accepted, released, reason, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      e.eventId,
      piId,
      e.at,
      e.source,
      e.from,
      e.to,
      e.accepted ? 1 : 0,
      e.released ? 1 : 0,
      e.reason,
      e.actor,
    );
    // Bounded: the newest PI_LOG_KEEP events stay; the count says how many there were.
    if (countBefore + 1 <= PI_LOG_KEEP) return;
    this.sql.exec(
      "DELETE FROM pi_events WHERE pi_id = ? AND id <= (SELECT id FROM pi_events WHERE pi_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
      piId,
      piId,
      PI_LOG_KEEP,
    );
  }

  /** The current balances (for the projection, the sweep and tests). */
  snapshot(): Balance {
    return this.balance();
  }

  // ------------------------------------------------------------------ allotments

  /** INITIAL / ADDITIONAL allotment or WITHDRAWAL, idempotent on txnId; audited in the same transaction. */
  async allot(i: AllotInput): Promise<AllotResult> {
    if (!Number.isSafeInteger(i.amount) || i.amount <= 0) throw new RangeError("amount must be positive paise");
    const r = this.ctx.storage.transactionSync((): AllotResult => {
      this.ensureKey(i.account);
      const seen = this.sql
        .exec<{ type: string; amount: number; result: string; owner_id: string | null }>(
          "SELECT type, amount, result, owner_id FROM txns WHERE txn_id = ?",
          i.txnId,
        )
        .toArray();
      if (seen.length) {
        if (seen[0].owner_id && seen[0].owner_id !== i.ownerId) return { ok: false, code: "TXN_FOREIGN", balance: this.balance() };
        if (seen[0].type !== i.type || seen[0].amount !== i.amount) return { ok: false, code: "TXN_CONFLICT", balance: this.balance() };
        return { ...(JSON.parse(seen[0].result) as AllotResult & { ok: true }), duplicate: true };
      }
      const before = this.balance();
      if (i.type === "INITIAL_ALLOTMENT") {
        if (before.sanctioned) return { ok: false, code: "SANCTION_EXISTS", balance: before };
        this.sql.exec("UPDATE account SET sanctioned = 1, allotted = allotted + ?, program_code = ? WHERE id = 1", i.amount, i.programCode);
      } else if (i.type === "ADDITIONAL_ALLOTMENT") {
        if (!before.sanctioned) return { ok: false, code: "SANCTION_NOT_FOUND", balance: before };
        // Balances are read back as JS numbers: an allotted total past 2^53 paise would not be exact.
        if (!Number.isSafeInteger(before.allotted + i.amount)) return { ok: false, code: "TOTAL_TOO_LARGE", balance: before };
        this.sql.exec("UPDATE account SET allotted = allotted + ? WHERE id = 1", i.amount);
      } else {
        if (!before.sanctioned) return { ok: false, code: "SANCTION_NOT_FOUND", balance: before };
        if (before.available < i.amount) return { ok: false, code: "INSUFFICIENT_FUNDS", balance: before };
        this.sql.exec("UPDATE account SET withdrawn = withdrawn + ? WHERE id = 1", i.amount);
      }
      const seq = this.bump();
      const at = new Date().toISOString();
      const result: AllotResult = {
        ok: true,
        duplicate: false,
        txnId: i.txnId,
        type: i.type,
        amount: i.amount,
        seq,
        balance: this.balance(),
        before,
        at,
      };
      this.sql.exec(
        "INSERT INTO txns (txn_id, type, amount, seq, result, owner_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        i.txnId,
        i.type,
        i.amount,
        seq,
        JSON.stringify(result),
        i.ownerId,
        at,
      );
      this.audit(
        seq,
        {
          actor: i.actor,
          action: "funds.allotment",
          targetType: "funds_account",
          targetId: `${i.account.tenantId}/${i.account.headOfAccount}/${i.account.ssuCode}`,
          before: money(before),
          after: {
            txnId: i.txnId,
            type: i.type,
            amount: rupees(i.amount),
            ...(i.programCode ? { programCode: i.programCode } : {}),
            ...money(result.balance),
          },
          requestId: i.requestId,
        },
        at,
      );
      return result;
    });
    this.keyed = true;
    // Low volume: the projection is written before answering, so a 201 shows in the summary at once.
    // A failure here changes nothing that was applied: the alarm projects it later.
    if (r.ok && !r.duplicate) {
      const flushed = await this.flush({ projectOnly: true });
      if (flushed.failed) await this.wake(Date.now() + 1_000);
    }
    return r;
  }

  // ------------------------------------------------------------------ payment instructions

  /**
   * Checks available funds and commits `amount` to a new PI, with its log, audit entry and the
   * outbox entry of its disburse, in one transaction; idempotent on piId. A tombstoned piId (its
   * registry settled it as never committed) is refused.
   */
  async commitPi(i: CommitPiInput): Promise<CommitResult> {
    if (!Number.isSafeInteger(i.amount) || i.amount <= 0) throw new RangeError("amount must be positive paise");
    const r = this.ctx.storage.transactionSync((): CommitResult => {
      this.ensureKey(i.account);
      const existing = this.readPi(i.piId);
      if (existing) {
        if (existing.status === ABANDONED) return { ok: false, code: "ABANDONED", balance: this.balance() };
        return { ok: true, duplicate: true, pi: this.state(existing), balance: this.balance() };
      }
      const before = this.balance();
      if (!before.sanctioned || before.available < i.amount) return { ok: false, code: "INSUFFICIENT_FUNDS", balance: before };
      const after = this.commitAndBump(i.amount);
      const seq = after.seq;
      const now = new Date().toISOString();
      this.sql.exec(
        `INSERT INTO pis (pi_id, payment_id, amount, status, released, updated_seq, created_at, updated_at, owner_id, message_id,
           beneficiary_count, program_code, requested_hoa, requested_ssu, acked, event_count)
         VALUES (?, ?, ?, 'INITIATED', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1)`,
        i.piId,
        i.paymentId,
        i.amount,
        seq,
        now,
        now,
        i.ownerId,
        i.messageId,
        i.beneficiaryCount,
        i.programCode,
        i.requestedHeadOfAccount,
        i.requestedSsuCode,
      );
      this.logEvent(i.piId, 0, {
        eventId: `create:${i.piId}`,
        at: now,
        source: "system",
        from: null,
        to: "INITIATED",
        accepted: true,
        released: false,
        reason: "funds committed",
        actor: i.actor,
      });
      this.audit(
        seq,
        {
          actor: i.actor,
          action: "funds.pi_commit",
          targetType: "payment_instruction",
          targetId: i.piId,
          before: { available: rupees(before.available), committed: rupees(before.committed) },
          after: { paymentId: i.paymentId, amount: rupees(i.amount), available: rupees(after.available), committed: rupees(after.committed) },
          requestId: i.requestId,
        },
        now,
      );
      this.sql.exec(
        "INSERT INTO outbox (message_id, pi_id, state, attempts, due_at, payload, header, created_at) VALUES (?, ?, 'pending', 0, ?, ?, ?, ?)",
        i.messageId,
        i.piId,
        Date.now(),
        i.payload,
        JSON.stringify(i.header),
        now,
      );
      const pi: PiState = {
        piId: i.piId,
        paymentId: i.paymentId,
        amount: i.amount,
        status: "INITIATED",
        released: false,
        updatedSeq: seq,
        createdAt: now,
        updatedAt: now,
      };
      return { ok: true, duplicate: false, pi, balance: after };
    });
    this.keyed = true;
    // Its disburse is handed to delivery at once; the projection follows (PROJECT_AFTER_MS).
    if (r.ok && !r.duplicate) await this.changed("hand-off");
    await this.maybeCrash("after-commit", this.crashAt);
    return r;
  }

  /**
   * Moves a PI (a client's or the admin's status call, or an iFIX callback). `eventId` makes a
   * redelivered event a no-op; FAILED gives the amount back once (the `released` flag flips in the
   * same transaction). Every call lands in the log and (status calls) in the audit, accepted or not.
   */
  async setPiStatus(piId: string, to: PiStatus | null, o: StatusInput): Promise<StatusResult> {
    const r = this.ctx.storage.transactionSync((): StatusResult => {
      const pi = this.readPi(piId);
      if (!pi || pi.status === ABANDONED) return { ok: false, code: "NOT_FOUND" };
      const from = pi.status as PiStatus;
      const seen = this.sql.exec("SELECT 1 FROM pi_events WHERE event_id = ?", o.eventId).toArray();
      if (seen.length)
        return { ok: true, duplicate: true, changed: false, from, to: from, released: false, pi: this.state(pi), balance: this.balance() };
      const now = new Date().toISOString();
      const box = this.outboxOf(piId);

      // Any word from iFIX about the disburse: it has the message, so stop sending it (the PI's row
      // records it with the event below, in the one UPDATE that counts the event).
      const ack = o.source === "callback";
      if (ack && box && box.state !== "delivered") {
        this.sql.exec("UPDATE outbox SET state = 'delivered', delivered_at = ?, lease_token = NULL WHERE message_id = ?", now, box.message_id);
      }
      if (to === null) {
        if (ack) this.sql.exec("UPDATE pis SET acked = 1, ifix_status = COALESCE(?, ifix_status) WHERE pi_id = ?", o.ifixStatus ?? null, piId);
        return { ok: true, duplicate: false, changed: false, from, to: from, released: false, pi: this.state(pi), balance: this.balance() };
      }
      const touch = (set: string, ...args: SqlStorageValue[]) =>
        this.sql.exec(
          `UPDATE pis SET ${set}, event_count = event_count + 1${ack ? ", acked = 1, ifix_status = COALESCE(?, ifix_status)" : ""} WHERE pi_id = ?`,
          ...args,
          ...(ack ? [o.ifixStatus ?? null] : []),
          piId,
        );

      const seq = this.bump();
      // Every call lands in the PI's log, accepted or not (its count rides on touch()).
      const log = (accepted: boolean, released: boolean, reason: string | null) =>
        this.logEvent(piId, pi.event_count, { eventId: o.eventId, at: now, source: o.source, from, to, accepted, released, reason, actor: o.actor });
      // Status calls are audited whatever their outcome; iFIX's callbacks when they give money back.
      const audited = o.source !== "callback";
      const refuse = (why: string, code: "INVALID_STATE" | "REASON_REQUIRED" = "INVALID_STATE"): StatusResult => {
        const reason = o.reason ? `${o.reason} (refused: ${why})` : `refused: ${why}`;
        log(false, false, reason);
        touch("updated_seq = ?", seq);
        if (audited) this.auditStatus(seq, now, piId, o, from, to, false, false, why);
        const pi2 = this.state({ ...pi, updated_seq: seq });
        return code === "REASON_REQUIRED" ? { ok: false, code, from, to, pi: pi2 } : { ok: false, code, from, to, pi: pi2, why };
      };

      if (from === to) {
        log(true, false, o.reason);
        touch("updated_seq = ?", seq);
        if (audited) this.auditStatus(seq, now, piId, o, from, to, true, false, null);
        return {
          ok: true,
          duplicate: false,
          changed: false,
          from,
          to,
          released: false,
          pi: this.state({ ...pi, updated_seq: seq }),
          balance: this.balance(),
        };
      }
      if (!PI_TRANSITIONS[from].includes(to)) {
        if (from === "FAILED" && o.source === "callback" && (to === "SUCCESSFUL" || to === "COMPLETED" || to === "PARTIAL")) {
          // Final is final (CONTRACT v3 §7), but iFIX says money moved after the PI was failed and
          // its funds released: kept, flagged for reconciliation, and alerted by the caller.
          this.sql.exec("UPDATE pis SET conflict = ? WHERE pi_id = ?", `iFIX reported ${o.ifixStatus ?? to} after FAILED at ${now}`, piId);
        }
        return refuse(`a payment instruction cannot move from ${from} to ${to}`);
      }
      if (to === "FAILED" && o.source !== "callback") {
        // Item 6: once iFIX has the disburse, only its callback or the admin key (with a reason) fails it.
        if (pi.acked === 1 && o.source !== "admin")
          return refuse("iFIX has acknowledged the disburse: only its callback or the admin key (with a reason) may set FAILED");
        if (pi.acked === 1 && !o.reason) return refuse("a reason is required", "REASON_REQUIRED");
        // A disburse being posted right now may reach iFIX: wait for its outcome.
        if (box && box.state === "leased" && box.taken === 1 && (box.lease_until ?? 0) > Date.now()) {
          return refuse("its disburse is being delivered to iFIX right now; try again when the attempt ends");
        }
      }
      let released = false;
      if (to === "FAILED" && pi.released === 0) {
        this.sql.exec("UPDATE account SET committed = committed - ? WHERE id = 1", pi.amount);
        released = true;
        // Not yet taken for delivery: never sent (a PI failed before iFIX saw it pays nothing).
        if (box && (box.state === "pending" || (box.state === "leased" && box.taken === 0))) {
          this.sql.exec("UPDATE outbox SET state = 'cancelled', lease_token = NULL WHERE message_id = ?", box.message_id);
        }
      }
      const final = FINAL_PI_STATUSES.includes(to) ? now : null;
      touch(
        "status = ?, released = released | ?, updated_seq = ?, updated_at = ?, final_at = COALESCE(final_at, ?)",
        to,
        released ? 1 : 0,
        seq,
        now,
        final,
      );
      log(true, released, o.reason);
      if (audited || released) this.auditStatus(seq, now, piId, o, from, to, true, released, null);
      const after: PiRow = { ...pi, status: to, released: pi.released | (released ? 1 : 0), updated_seq: seq, updated_at: now };
      return { ok: true, duplicate: false, changed: true, from, to, released, pi: this.state(after), balance: this.balance() };
    });
    // iFIX's callbacks wait for the projection with the rest; a person's status call shows at once.
    if ((r.ok && !r.duplicate) || (!r.ok && r.code !== "NOT_FOUND")) await this.changed(o.source === "callback" ? "project" : "project-now");
    return r;
  }

  private auditStatus(
    seq: number,
    at: string,
    piId: string,
    o: StatusInput,
    from: PiStatus,
    to: PiStatus,
    accepted: boolean,
    released: boolean,
    why: string | null,
  ) {
    this.audit(
      seq,
      {
        actor: o.actor,
        action: o.source === "callback" ? "funds.pi_release" : "funds.pi_status_override",
        targetType: "payment_instruction",
        targetId: piId,
        before: { status: from },
        after: { status: accepted ? to : from, requested: to, reason: o.reason, accepted, released, ...(why ? { refused: why } : {}) },
        requestId: o.requestId,
      },
      at,
    );
  }

  /**
   * Settles a registry claim that never completed: the PI if it was committed here; otherwise a
   * tombstone, so a late commitPi for the same id is refused (no commit after abandonment).
   */
  abandonPi(piId: string): { committed: boolean; status: string | null; ownerId: string | null } {
    return this.ctx.storage.transactionSync(() => {
      const pi = this.readPi(piId);
      if (pi && pi.status !== ABANDONED) return { committed: true, status: pi.status, ownerId: pi.owner_id };
      if (!pi) {
        const now = new Date().toISOString();
        this.sql.exec(
          "INSERT INTO pis (pi_id, payment_id, amount, status, released, updated_seq, created_at, updated_at) VALUES (?, '', 0, 'ABANDONED', 1, 0, ?, ?)",
          piId,
          now,
          now,
        );
      }
      return { committed: false, status: null, ownerId: null };
    });
  }

  /** Whether a PI still holds its paymentId (not FAILED), for the registry. */
  piLiveness(piId: string): { exists: boolean; live: boolean; status: string | null; ownerId: string | null; tenantId: string | null } {
    const pi = this.readPi(piId);
    if (!pi || pi.status === ABANDONED) return { exists: false, live: false, status: null, ownerId: null, tenantId: null };
    return { exists: true, live: pi.status !== "FAILED", status: pi.status, ownerId: pi.owner_id, tenantId: this.key()?.tenantId ?? null };
  }

  /** A PI with a page of its log (newest last), its delivery and its sealed message. */
  getPi(piId: string, page: { limit?: number; before?: number | null } = {}): PiView | null {
    const pi = this.readPi(piId);
    if (!pi || pi.status === ABANDONED) return null;
    const limit = Math.min(Math.max(page.limit ?? PI_LOG_KEEP, 1), PI_LOG_KEEP);
    const rows = this.sql
      .exec<{
        id: number;
        at: string;
        source: string;
        status_from: string | null;
        status_to: string;
        accepted: number;
        released: number;
        reason: string | null;
      }>(
        "SELECT id, at, source, status_from, status_to, accepted, released, reason FROM pi_events WHERE pi_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        piId,
        page.before ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
      )
      .toArray();
    const more = rows.length > limit;
    const shown = rows.slice(0, limit).reverse();
    const box = this.outboxOf(piId);
    return {
      pi: this.record(pi),
      log: shown.map((r) => ({
        at: r.at,
        source: r.source as PiSource,
        from: r.status_from as PiStatus | null,
        to: r.status_to as PiStatus,
        accepted: r.accepted === 1,
        reason: r.reason,
        released: r.released === 1,
      })),
      // Objects from before the bounded log kept no count: count what they hold.
      logTotal: pi.event_count || this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM pi_events WHERE pi_id = ?", piId).one().n,
      logNext: more ? shown[0].id : null,
      delivery: box
        ? {
            messageId: box.message_id,
            state: box.state,
            attempts: box.attempts,
            lastError: box.last_error,
            lastHttpStatus: box.last_http_status,
            deliveredAt: box.delivered_at,
          }
        : null,
      payload: box && box.payload !== PURGED ? box.payload : null,
      conflict: pi.conflict,
    };
  }

  // ------------------------------------------------------------------ delivery (the outbox)

  /**
   * The delivery consumer claims one attempt: only with the token of the entry's current hand-off,
   * once (a duplicate queue message, or one from an expired hand-off, takes nothing).
   */
  takeDelivery(messageId: string, token: string, leaseMs: number): TakenDelivery | null {
    return this.ctx.storage.transactionSync(() => {
      const box = this.sql.exec<OutboxRow>("SELECT * FROM outbox WHERE message_id = ?", messageId).toArray()[0];
      if (!box || box.state !== "leased" || box.lease_token !== token || box.taken === 1) return null;
      const pi = this.readPi(box.pi_id);
      const k = this.key();
      if (!pi || !k || pi.status === "FAILED") {
        this.sql.exec("UPDATE outbox SET state = 'cancelled', lease_token = NULL WHERE message_id = ?", messageId);
        return null;
      }
      const attempt = box.attempts + 1;
      this.sql.exec("UPDATE outbox SET attempts = ?, taken = 1, lease_until = ? WHERE message_id = ?", attempt, Date.now() + leaseMs, messageId);
      return {
        messageId,
        piId: box.pi_id,
        attempt,
        ownerId: pi.owner_id ?? "",
        paymentId: pi.payment_id,
        amount: pi.amount,
        payload: box.payload,
        header: JSON.parse(box.header) as HeaderBase,
        account: { tenantId: k.tenantId, headOfAccount: k.headOfAccount, ssuCode: k.ssuCode },
        programCode: pi.program_code ?? k.programCode,
        createdAt: box.created_at,
      };
    });
  }

  /** Delivery reports back: only the attempt holding the current token counts. */
  async deliveryResult(messageId: string, token: string, o: DeliveryOutcome): Promise<{ applied: boolean; state: DeliveryState["state"] | null }> {
    const r = this.ctx.storage.transactionSync(() => {
      const box = this.sql.exec<OutboxRow>("SELECT * FROM outbox WHERE message_id = ?", messageId).toArray()[0];
      if (!box) return { applied: false, state: null };
      // A callback from iFIX already marked it delivered (it may beat the answer to the post).
      if (box.state === "delivered") {
        this.sql.exec("UPDATE outbox SET attempts = MAX(attempts, 1) WHERE message_id = ?", messageId);
        return { applied: false, state: box.state };
      }
      if (box.lease_token !== token) return { applied: false, state: box.state };
      const now = Date.now();
      const iso = new Date(now).toISOString();
      const err = "error" in o ? o.error.slice(0, 500) : null;
      if (o.kind === "delivered") {
        this.sql.exec(
          "UPDATE outbox SET state = 'delivered', delivered_at = ?, lease_token = NULL, last_error = ?, last_http_status = ? WHERE message_id = ?",
          iso,
          o.note ?? null,
          o.httpStatus,
          messageId,
        );
        this.sql.exec("UPDATE pis SET acked = 1 WHERE pi_id = ?", box.pi_id);
      } else if (o.kind === "retry") {
        this.sql.exec(
          "UPDATE outbox SET state = 'pending', due_at = ?, lease_token = NULL, taken = 0, lease_until = NULL, last_error = ?, last_http_status = ? WHERE message_id = ?",
          now + Math.max(0, o.delayMs),
          err,
          o.httpStatus,
          messageId,
        );
      } else {
        this.sql.exec(
          "UPDATE outbox SET state = ?, lease_token = NULL, last_error = ?, last_http_status = ? WHERE message_id = ?",
          o.kind,
          err,
          o.httpStatus,
          messageId,
        );
      }
      const state: DeliveryState["state"] = o.kind === "retry" ? "pending" : o.kind;
      return { applied: true, state };
    });
    if (r.applied && o.kind === "retry") await this.wake(Date.now() + Math.max(0, o.delayMs));
    return r;
  }

  /**
   * An operator's replay of a disburse that delivery gave up on (attempts exhausted): pending again,
   * attempts counted afresh, audited in the same transaction (so no audit row claims a replay that
   * did not happen). A PI already FAILED, or a disburse iFIX refused (4xx) or has, is refused.
   */
  async replayDelivery(
    messageId: string,
    by: { actor: string; requestId: string | null },
  ): Promise<{ ok: true; before: string } | { ok: false; state: string | null; why: string }> {
    const r = this.ctx.storage.transactionSync(() => {
      const box = this.sql.exec<OutboxRow>("SELECT * FROM outbox WHERE message_id = ?", messageId).toArray()[0];
      if (!box) return { ok: false as const, state: null, why: "no such disburse in this account" };
      const pi = this.readPi(box.pi_id);
      if (!pi || pi.status === "FAILED") return { ok: false as const, state: box.state, why: "its payment instruction is FAILED: nothing to pay" };
      if (box.state !== "failed")
        return { ok: false as const, state: box.state, why: `its delivery is ${box.state}, not failed: replaying it could send it twice` };
      this.sql.exec(
        "UPDATE outbox SET state = 'pending', attempts = 0, due_at = ?, lease_token = NULL, taken = 0, lease_until = NULL WHERE message_id = ?",
        Date.now(),
        messageId,
      );
      const seq = this.bump();
      this.audit(
        seq,
        {
          actor: by.actor,
          action: "fiscal.replay",
          targetType: "fiscal_message",
          targetId: messageId,
          before: { deliveryStatus: "FAILED", attempts: box.attempts, piId: box.pi_id },
          after: { deliveryStatus: "QUEUED", attempts: 0 },
          requestId: by.requestId,
        },
        new Date().toISOString(),
      );
      return { ok: true as const, before: box.state };
    });
    if (r.ok) await this.changed("hand-off");
    return r;
  }

  // ------------------------------------------------------------------ alarm: projection, hand-off, housekeeping

  /**
   * A change was committed. The alarm runs now to hand a disburse to delivery (`hand-off`) or to
   * project (`project-now`: the projection counts as due), else when the projection is due.
   */
  private async changed(then: "hand-off" | "project" | "project-now") {
    const now = Date.now();
    this.dirtySince = then === "project-now" ? now - this.projectAfterMs : (this.dirtySince ?? now);
    await this.wake(then === "project" ? this.dirtySince + this.projectAfterMs : now);
  }

  private projectionDue(now: number): boolean {
    return this.dirtySince === null || now >= this.dirtySince + this.projectAfterMs;
  }

  private nextWork(now: number): number | null {
    const a = this.sql.exec<{ seq: number; projected_seq: number }>("SELECT seq, projected_seq FROM account WHERE id = 1").one();
    const projectAt = a.seq > a.projected_seq ? (this.projectionDue(now) ? now : this.dirtySince! + this.projectAfterMs) : null;
    // Hand-offs held by a test: the test hands off itself, so the outbox wakes nothing (an entry due
    // now would otherwise bring the alarm back every millisecond until the test takes it).
    const due = this.holdHandoff
      ? null
      : this.sql
          .exec<{ t: number | null }>(
            "SELECT MIN(t) AS t FROM (SELECT MIN(due_at) AS t FROM outbox WHERE state = 'pending' UNION ALL SELECT MIN(lease_until) FROM outbox WHERE state = 'leased')",
          )
          .one().t;
    return projectAt === null ? (due ?? null) : due === null ? projectAt : Math.min(projectAt, due);
  }

  private async setAlarm(at: number) {
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** Makes sure the alarm fires by `at` (an earlier alarm already set is kept). */
  private async wake(at: number) {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    await this.setAlarm(at);
  }

  async alarm(): Promise<void> {
    this.alarmAt = null;
    const report = await this.flush().catch((err) => {
      createLogger({ do: "FundsAccount" }).error("funds account alarm failed", { kind: errorKind(err) });
      return { failed: true } as FlushReport;
    });
    const now = Date.now();
    let next = this.nextWork(now);
    // A failed projection or hand-off is tried again soon (2 s, doubling to a minute while it keeps
    // failing), without waiting for the sweep.
    this.failedRuns = report.failed ? this.failedRuns + 1 : 0;
    if (report.failed) next = now + Math.min(60_000, 2_000 * 2 ** Math.min(5, this.failedRuns - 1));
    if (next !== null) await this.setAlarm(report.failed ? next : Math.max(next, now + 1));
  }

  /** The sweep's safety net (and tests): project, hand off what is due, and housekeep now. */
  async kick(): Promise<FlushReport> {
    const r = await this.flush({ housekeeping: true });
    const next = this.nextWork(Date.now());
    if (next !== null) await this.wake(next);
    return r;
  }

  /** Single-flight within the object: concurrent callers share one run. */
  private flush(opts: { projectOnly?: boolean; housekeeping?: boolean } = {}): Promise<FlushReport> {
    if (this.flushing) return this.flushing.then(() => this.flush(opts));
    const run = this.runFlush(opts).finally(() => {
      this.flushing = null;
    });
    this.flushing = run;
    return run;
  }

  private async runFlush(opts: { projectOnly?: boolean; housekeeping?: boolean }): Promise<FlushReport> {
    const report: FlushReport = { projected: 0, handed: 0, purged: 0, resealed: 0, failed: false };
    if (opts.projectOnly || opts.housekeeping || this.projectionDue(Date.now())) {
      try {
        report.projected = await this.project();
      } catch (err) {
        report.failed = true;
        createLogger({ do: "FundsAccount" }).warn("funds projection failed; retried by the alarm", { kind: errorKind(err) });
      }
    }
    if (opts.projectOnly) return report;
    try {
      report.handed = await this.handOff();
    } catch (err) {
      report.failed = true;
      createLogger({ do: "FundsAccount" }).warn("fiscal hand-off failed; retried by the alarm", { kind: errorKind(err) });
    }
    const a = this.sql.exec<{ housekept_at: number }>("SELECT housekept_at FROM account WHERE id = 1").one();
    if (opts.housekeeping || Date.now() - a.housekept_at > HOUSEKEEPING_EVERY_MS) {
      try {
        report.purged = this.purgePersonalData();
        report.resealed = await this.resealPayloads();
        this.sql.exec("UPDATE account SET housekept_at = ? WHERE id = 1", Date.now());
      } catch (err) {
        report.failed = true;
        createLogger({ do: "FundsAccount" }).warn("funds housekeeping failed", { kind: errorKind(err) });
      }
    }
    return report;
  }

  /** Copies changes since the last projection to D1, in rounds of at most ROUND_SEQS seqs. */
  private async project(): Promise<number> {
    let projected = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const a = this.sql.exec<{ seq: number; projected_seq: number }>("SELECT seq, projected_seq FROM account WHERE id = 1").one();
      const k = this.key();
      if (a.seq <= a.projected_seq) {
        // Caught up: read and cleared with no await between, so no change is missed.
        this.dirtySince = null;
        return projected;
      }
      if (!k) return projected;
      const from = a.projected_seq;
      const upTo = Math.min(a.seq, from + ROUND_SEQS);
      const pis: ProjectedPi[] = this.sql
        .exec<PiRow>(
          "SELECT * FROM pis WHERE updated_seq > ? AND updated_seq <= ? AND status <> 'ABANDONED' AND owner_id IS NOT NULL ORDER BY updated_seq",
          from,
          upTo,
        )
        .toArray()
        .map((p) => ({
          piId: p.pi_id,
          paymentId: p.payment_id,
          ownerId: p.owner_id!,
          requestedHeadOfAccount: p.requested_hoa,
          requestedSsuCode: p.requested_ssu,
          amount: p.amount,
          beneficiaryCount: p.beneficiary_count ?? 0,
          status: p.status as PiStatus,
          seq: p.updated_seq,
          messageId: p.message_id ?? "",
          programCode: p.program_code ?? k.programCode,
          createdAt: p.created_at,
          updatedAt: p.updated_at,
        }));
      const legacyPis = this.sql
        .exec<PiRow>("SELECT * FROM pis WHERE updated_seq > ? AND updated_seq <= ? AND status <> 'ABANDONED' AND owner_id IS NULL", from, upTo)
        .toArray()
        .map((p) => ({ piId: p.pi_id, status: p.status as PiStatus, seq: p.updated_seq, updatedAt: p.updated_at }));
      const txns: ProjectedTxn[] = this.sql
        .exec<{ txn_id: string; type: string; amount: number; seq: number; result: string; owner_id: string | null; at: string | null }>(
          "SELECT * FROM txns WHERE seq > ? AND seq <= ? AND owner_id IS NOT NULL ORDER BY seq",
          from,
          upTo,
        )
        .toArray()
        .map((t) => ({
          txnId: t.txn_id,
          ownerId: t.owner_id!,
          type: t.type,
          amount: t.amount,
          seq: t.seq,
          result: txnView(k, JSON.parse(t.result)),
          createdAt: t.at ?? new Date().toISOString(),
        }));
      const audits: ProjectedAudit[] = this.sql
        .exec<{
          seq: number;
          at: string;
          actor: string;
          action: string;
          target_type: string;
          target_id: string | null;
          before: string | null;
          after: string | null;
          request_id: string | null;
        }>("SELECT * FROM audit WHERE seq > ? AND seq <= ? ORDER BY seq", from, upTo)
        .toArray()
        .map((x) => ({
          seq: x.seq,
          at: x.at,
          actor: x.actor,
          action: x.action,
          targetType: x.target_type,
          targetId: x.target_id,
          before: x.before ? JSON.parse(x.before) : null,
          after: x.after ? JSON.parse(x.after) : null,
          requestId: x.request_id,
        }));
      if (this.failProjections > 0 && isTest(this.env)) {
        this.failProjections--;
        throw new Error("test: projection batch lost");
      }
      await this.env.DB.batch(projectionStatements(this.env.DB, { account: k, balance: this.balance(), upTo, pis, legacyPis, txns, audits }));
      this.projectionBatches++;
      await this.maybeCrash("after-projection-batch", this.crashAt);
      this.ctx.storage.transactionSync(() => {
        this.sql.exec("UPDATE account SET projected_seq = MAX(projected_seq, ?) WHERE id = 1", upTo);
        // In D1 now (the audit log's home): dropped here so the object's storage stays bounded.
        this.sql.exec("DELETE FROM audit WHERE seq <= ?", upTo);
      });
      projected += pis.length + legacyPis.length + txns.length + audits.length;
    }
    return projected;
  }

  /** Hands due outbox entries to the delivery queue, each under a new lease token. */
  private async handOff(): Promise<number> {
    if (this.holdHandoff && isTest(this.env)) return 0;
    let handed = 0;
    for (let round = 0; round < 10; round++) {
      const now = Date.now();
      const idHex = this.ctx.id.toString();
      await this.maybeCrash("before-handoff", this.crashAt);
      const taken = this.leaseDue(now);
      if (!taken.length) return handed;
      await this.maybeCrash("after-handoff-lease", this.crashAt);
      try {
        await this.env.FISCAL_DELIVERY.sendBatch(
          taken.map((t) => ({ body: { type: "fiscal.deliver-pi", account: idHex, messageId: t.messageId, token: t.token } })),
        );
      } catch (err) {
        // Not handed: pending again (same token check), tried by the next alarm run.
        this.ctx.storage.transactionSync(() => {
          for (const t of taken) {
            this.sql.exec(
              "UPDATE outbox SET state = 'pending', lease_token = NULL, lease_until = NULL, due_at = ? WHERE message_id = ? AND lease_token = ?",
              Date.now() + 5_000,
              t.messageId,
              t.token,
            );
          }
        });
        throw err;
      }
      handed += taken.length;
      if (taken.length < 100) return handed;
    }
    return handed;
  }

  /** Leases due outbox entries (pending and due, or leased with an expired lease) under new tokens. */
  private leaseDue(now: number): { messageId: string; token: string }[] {
    return this.ctx.storage.transactionSync(() => {
      const due = this.sql
        .exec<{ message_id: string }>(
          "SELECT message_id FROM outbox WHERE (state = 'pending' AND due_at <= ?) OR (state = 'leased' AND lease_until < ?) ORDER BY due_at, message_id LIMIT 100",
          now,
          now,
        )
        .toArray();
      return due.map((d) => {
        const token = crypto.randomUUID();
        this.sql.exec(
          "UPDATE outbox SET state = 'leased', lease_token = ?, taken = 0, lease_until = ? WHERE message_id = ?",
          token,
          now + HANDOFF_LEASE_MS,
          d.message_id,
        );
        return { messageId: d.message_id, token };
      });
    });
  }

  /**
   * CONTRACT §11: beneficiaries' names and account codes only as long as reconciliation needs them.
   * The sealed disburse of a PI final for PI_DATA_RETENTION_DAYS is dropped (amounts, statuses and
   * the log stay); one whose delivery is still open (pending or leased) keeps it until it settles.
   */
  purgePersonalData(now = Date.now(), limit = 500): number {
    const { PI_DATA_RETENTION_DAYS } = getRetentionConfig(this.env);
    const cutoff = new Date(now - PI_DATA_RETENTION_DAYS * 86_400_000).toISOString();
    return this.ctx.storage.transactionSync(() => {
      const rows = this.sql
        .exec<{ message_id: string }>(
          `SELECT o.message_id FROM outbox o JOIN pis p ON p.pi_id = o.pi_id
           WHERE p.final_at IS NOT NULL AND p.final_at < ? AND o.payload <> ? AND o.state NOT IN ('pending', 'leased')
           ORDER BY p.final_at, o.message_id LIMIT ?`,
          cutoff,
          PURGED,
          limit,
        )
        .toArray();
      for (const r of rows) this.sql.exec("UPDATE outbox SET payload = ? WHERE message_id = ?", PURGED, r.message_id);
      return rows.length;
    });
  }

  /** Re-encrypts sealed disburses under the newest data key, bounded per run (issue 12). */
  async resealPayloads(limit = 200): Promise<number> {
    const prefix = await currentSealPrefix(this.env);
    const rows = this.sql
      .exec<{ message_id: string; payload: string }>(
        "SELECT message_id, payload FROM outbox WHERE payload <> ? AND substr(payload, 1, ?) <> ? ORDER BY created_at LIMIT ?",
        PURGED,
        prefix.length,
        prefix,
        limit,
      )
      .toArray();
    let done = 0;
    for (const r of rows) {
      if (!(await needsReseal(this.env, r.payload))) continue;
      const fresh = await reseal(this.env, r.payload, r.message_id);
      // Compare-and-set: a row changed meanwhile (purged) is left as it is.
      const changed = this.sql.exec("UPDATE outbox SET payload = ? WHERE message_id = ? AND payload = ?", fresh, r.message_id, r.payload).rowsWritten;
      done += changed ? 1 : 0;
    }
    return done;
  }

  // ------------------------------------------------------------------ test hooks

  /**
   * Test-only (ENVIRONMENT=test): crash at a point, make the next `n` projection batches fail, or
   * hold hand-offs so that a test plays the delivery consumer with `testHandOff`.
   */
  async testHooks(h: { crashAt?: AccountCrashPoint | null; failProjections?: number; holdHandoff?: boolean; projectAfterMs?: number }) {
    if (!isTest(this.env)) throw new Error("test hooks are off outside tests");
    if (h.crashAt !== undefined) this.crashAt = h.crashAt;
    if (h.failProjections !== undefined) this.failProjections = h.failProjections;
    if (h.projectAfterMs !== undefined) this.projectAfterMs = h.projectAfterMs;
    if (h.holdHandoff !== undefined) {
      const released = this.holdHandoff && !h.holdHandoff;
      this.holdHandoff = h.holdHandoff;
      // What waited while held is handed off now.
      if (released) await this.wake(Date.now());
    }
  }

  /** Test-only: how many projection batches this instance has written, and whether changes wait for one. */
  testStats(): { projectionBatches: number; dirtySince: number | null } {
    if (!isTest(this.env)) throw new Error("test hooks are off outside tests");
    return { projectionBatches: this.projectionBatches, dirtySince: this.dirtySince };
  }

  /** Test-only: lease what is due (as the alarm would) and give the tokens to the test instead of the queue. */
  testHandOff(now = Date.now()): { account: string; messageId: string; token: string }[] {
    if (!isTest(this.env)) throw new Error("test hooks are off outside tests");
    return this.leaseDue(now).map((t) => ({ account: this.ctx.id.toString(), ...t }));
  }

  /** Test-only: move a PI's final time (retention tests). */
  testSetFinalAt(piId: string, finalAt: string) {
    if (!isTest(this.env)) throw new Error("test hooks are off outside tests");
    this.sql.exec("UPDATE pis SET final_at = ? WHERE pi_id = ?", finalAt, piId);
  }

  /** A crash after the step's writes are durable (an abort drops writes not yet confirmed). */
  private async maybeCrash(point: AccountCrashPoint, armed: AccountCrashPoint | null | undefined) {
    if (armed === point && isTest(this.env)) {
      this.crashAt = null;
      await this.ctx.storage.sync();
      this.ctx.abort(`test crash ${point}`);
      throw new Error(`test crash ${point}`);
    }
  }
}

export interface FlushReport {
  projected: number;
  handed: number;
  purged: number;
  resealed: number;
  failed: boolean;
}

const rupees = paiseToRupees;
const money = (b: Balance) => ({
  allotted: rupees(b.allotted),
  withdrawn: rupees(b.withdrawn),
  committed: rupees(b.committed),
  available: rupees(b.available),
});

/** The allotment's answer as the route gives it (kept in D1's funds_allotments). */
function txnView(k: AccountKey, r: AllotResult & { ok: true }) {
  return {
    txnId: r.txnId,
    tenantId: k.tenantId,
    headOfAccount: k.headOfAccount,
    ssuCode: k.ssuCode,
    type: r.type,
    amount: rupees(r.amount),
    balance: money(r.balance),
    createdAt: r.at,
  };
}
