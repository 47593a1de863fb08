import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { AccountKey, AllotResult, PiStatus } from "../domain/funds/types";
import { accountStub } from "../domain/funds/accounts";
import { piIdFor } from "../domain/funds/pi-id";
import type { AllotInput, CommitPiInput } from "./funds-account";
import { createLogger, errorKind } from "../lib/logger";

/**
 * # paymentId (and txnId) uniqueness without D1
 *
 * A paymentId holds at most one PI that is not FAILED, across every account of every tenant
 * (CONTRACT §7); another client's paymentId is a 409 without content. The account is chosen only
 * when the PI commits (head of account / SSU may be left out), so no account can decide alone, and D1
 * is a projection that must not decide it. This object does, one instance per shard of ids
 * (`FUNDS_REGISTRY.idFromName("pay:<shard>")`, 64 shards by FNV-1a: fixed for ever, since moving an
 * id to another shard would forget it):
 *
 * 1. claim (synchronous): no entry → a `pending` entry (owner, the request's piId suffix, the
 *    candidate accounts in order), remembered in memory as in flight;
 * 2. the candidates' objects are asked in order to commit (a DO-to-DO call, the one extra hop that
 *    correctness needs; the first with enough funds commits, in its own transaction);
 * 3. settle (synchronous): `committed` (which account, which piId), or the entry is dropped (no
 *    account had the funds: the paymentId is free again at once).
 *
 * A crash between the steps leaves a `pending` entry that no request of this instance is running.
 * It settles itself: the next request for the paymentId (at once) or the alarm (after
 * SETTLE_AFTER_MS) asks each candidate account `abandonPi(piId)`, which either reports the commit
 * (→ `committed`: the PI exists, its disburse is in that account's outbox) or leaves a tombstone so
 * a late commit is refused (→ dropped). So a transient failure never blocks a paymentId until a sweep
 * (issue 10): the very next attempt settles it.
 *
 * A `committed` entry does not learn when its PI later FAILS (that would be a message to lose): a new
 * request for the same paymentId asks the account whether the PI still holds it (one extra hop, on
 * re-use only). Concurrent requests for one paymentId: the first claims it, the others see it
 * pending in flight and get 409 PI_EXISTS.
 *
 * txnIds (allotments) work the same way with owner + content, and lean on the account's own
 * idempotency on txnId; a refused allotment frees its txnId.
 */
export const REGISTRY_SHARDS = 64;
/** A pending claim no request is running is settled by the alarm after this long. */
export const SETTLE_AFTER_MS = 30_000;

/** FNV-1a (32-bit) of the id: a stable, synchronous shard choice. */
export function shardOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % REGISTRY_SHARDS;
}

/** One shard of the registry, placed near India like every other object (the hint applies when it is created). */
export const registryShard = (env: Env, kind: "pay" | "txn", shard: number) =>
  env.FUNDS_REGISTRY.get(env.FUNDS_REGISTRY.idFromName(`${kind}:${shard}`), { locationHint: "apac" });

export const registryFor = (env: Env, kind: "pay" | "txn", id: string) => registryShard(env, kind, shardOf(id));

export interface RegistryPiRequest {
  paymentId: string;
  ownerId: string;
  suffix: string;
  candidates: AccountKey[];
  commit: Omit<CommitPiInput, "account" | "piId">;
}

export type RegistryPiOutcome =
  | { kind: "created"; piId: string; status: PiStatus; account: AccountKey }
  | { kind: "exists"; piId: string | null; status: string | null }
  | { kind: "foreign" }
  | { kind: "insufficient" }
  | { kind: "unavailable" };

export type RegistryAllotOutcome = { kind: "foreign" } | { kind: "content" } | { kind: "applied"; result: AllotResult } | { kind: "unavailable" };

/** Test-only crash points (ENVIRONMENT=test): the object aborts right after the step. */
export type RegistryCrashPoint = "after-claim" | "after-commit" | "account-throws";

type PayRow = {
  payment_id: string;
  owner_id: string;
  state: "pending" | "committed";
  suffix: string;
  candidates: string;
  account: string | null;
  pi_id: string | null;
  created_at: number;
};

export class FundsRegistry extends DurableObject<Env> {
  private sql: SqlStorage;
  /** paymentIds whose request is running in this instance (lost with it, by design). */
  private inFlight = new Set<string>();
  /** Whether an alarm is known to be set (so a claim sets one without a storage read). */
  private alarmSet = false;
  /**
   * Settlements not yet written: the answer does not wait for a second storage flush. Written with
   * the next claim's transaction or by the alarm; lost with the instance, they are found again the
   * way any dead claim is (abandonPi reports the commit), so nothing depends on them being written.
   */
  private confirms = new Map<string, { suffix: string; account: string; piId: string }>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS payments (
        payment_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, state TEXT NOT NULL, suffix TEXT NOT NULL,
        candidates TEXT NOT NULL, account TEXT, pi_id TEXT, created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS payments_pending ON payments (state, created_at);
      CREATE TABLE IF NOT EXISTS txns (
        txn_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, content TEXT NOT NULL, applied INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
      );
    `);
  }

  private row(paymentId: string): PayRow | null {
    return this.sql.exec<PayRow>("SELECT * FROM payments WHERE payment_id = ?", paymentId).toArray()[0] ?? null;
  }

  /** Writes the settlements kept in memory (inside the caller's transaction). */
  private writeConfirms() {
    for (const [paymentId, c] of this.confirms) {
      this.sql.exec(
        "UPDATE payments SET state = 'committed', account = ?, pi_id = ? WHERE payment_id = ? AND suffix = ? AND state = 'pending'",
        c.account,
        c.piId,
        paymentId,
        c.suffix,
      );
    }
    this.confirms.clear();
  }

  private stubOf(hex: string) {
    return this.env.FUNDS_ACCOUNT.get(this.env.FUNDS_ACCOUNT.idFromString(hex));
  }

  /** Claims the paymentId, commits on the first candidate with the funds, and settles the claim. */
  async createPi(req: RegistryPiRequest, crash?: RegistryCrashPoint | null): Promise<RegistryPiOutcome> {
    const arm = this.env.ENVIRONMENT === "test" ? (crash ?? null) : null;
    for (let tries = 0; ; tries++) {
      if (tries > 4) return { kind: "unavailable" };
      type Decision = { go: true } | { answer: RegistryPiOutcome } | { entry: PayRow };
      const d = this.ctx.storage.transactionSync((): Decision => {
        this.writeConfirms();
        const e = this.row(req.paymentId);
        if (!e) {
          this.sql.exec(
            "INSERT INTO payments (payment_id, owner_id, state, suffix, candidates, created_at) VALUES (?, ?, 'pending', ?, ?, ?)",
            req.paymentId,
            req.ownerId,
            req.suffix,
            JSON.stringify(req.candidates),
            Date.now(),
          );
          this.inFlight.add(req.paymentId);
          return { go: true };
        }
        if (e.state === "pending" && this.inFlight.has(req.paymentId)) {
          const answer: RegistryPiOutcome = e.owner_id === req.ownerId ? { kind: "exists", piId: null, status: null } : { kind: "foreign" };
          return { answer };
        }
        return { entry: e };
      });
      if ("go" in d) {
        // The claim settles itself should its request die: an alarm goes with it.
        if (!this.alarmSet) {
          this.alarmSet = true;
          await this.ctx.storage.setAlarm(Date.now() + SETTLE_AFTER_MS).catch(() => {
            this.alarmSet = false;
          });
        }
        break;
      }
      if ("answer" in d) return d.answer;
      const e = d.entry;
      if (e.state === "pending") {
        // Its request died (it is not running here): settle it now, then decide.
        if (!(await this.settle(e))) return { kind: "unavailable" };
        continue;
      }
      let live: { exists: boolean; live: boolean; status: string | null };
      try {
        live = await this.stubOf(e.account!).piLiveness(e.pi_id!);
      } catch {
        return { kind: "unavailable" };
      }
      if (live.live) return e.owner_id === req.ownerId ? { kind: "exists", piId: e.pi_id, status: live.status } : { kind: "foreign" };
      // Its PI FAILED: the paymentId is free again (compare-and-set on the PI it named).
      this.sql.exec("DELETE FROM payments WHERE payment_id = ? AND state = 'committed' AND pi_id = ?", req.paymentId, e.pi_id);
    }

    try {
      await this.maybeCrash("after-claim", arm);
      for (const account of req.candidates) {
        const stub = accountStub(this.env, account);
        const piId = piIdFor(stub.id.toString(), req.suffix);
        let r;
        try {
          if (arm === "account-throws") throw new Error("test: the account's object is unreachable");
          r = await stub.commitPi({ ...req.commit, account, piId });
        } catch (err) {
          // Did it commit? Ask (a tombstone makes a late commit impossible); unknown → the claim waits.
          createLogger({ do: "FundsRegistry" }).warn("account commit failed; settling the claim", { kind: errorKind(err) });
          try {
            // A stub whose object threw is broken: ask through a fresh one.
            const a = await accountStub(this.env, account).abandonPi(piId);
            if (a.committed) {
              this.confirm(req, stub.id.toString(), piId);
              return { kind: "created", piId, status: (a.status ?? "INITIATED") as PiStatus, account };
            }
            this.release(req);
          } catch {
            await this.ctx.storage.setAlarm(Date.now() + SETTLE_AFTER_MS);
          }
          return { kind: "unavailable" };
        }
        if (r.ok) {
          await this.maybeCrash("after-commit", arm);
          this.confirm(req, stub.id.toString(), piId);
          return { kind: "created", piId, status: r.pi.status, account };
        }
        if (r.code === "ABANDONED") break;
      }
      this.release(req);
      return { kind: "insufficient" };
    } finally {
      this.inFlight.delete(req.paymentId);
    }
  }

  private confirm(req: RegistryPiRequest, accountHex: string, piId: string) {
    this.confirms.set(req.paymentId, { suffix: req.suffix, account: accountHex, piId });
  }

  private release(req: RegistryPiRequest) {
    this.sql.exec("DELETE FROM payments WHERE payment_id = ? AND suffix = ? AND state = 'pending'", req.paymentId, req.suffix);
  }

  /**
   * A pending claim whose request died: each candidate either holds the commit (→ committed) or is
   * tombstoned (→ dropped). False when an account could not be reached (the alarm tries again).
   */
  private async settle(e: PayRow): Promise<boolean> {
    const candidates = JSON.parse(e.candidates) as AccountKey[];
    for (const account of candidates) {
      const stub = accountStub(this.env, account);
      const piId = piIdFor(stub.id.toString(), e.suffix);
      let a;
      try {
        a = await stub.abandonPi(piId);
      } catch {
        await this.ctx.storage.setAlarm(Date.now() + SETTLE_AFTER_MS);
        return false;
      }
      if (a.committed) {
        this.sql.exec(
          "UPDATE payments SET state = 'committed', account = ?, pi_id = ? WHERE payment_id = ? AND suffix = ? AND state = 'pending'",
          stub.id.toString(),
          piId,
          e.payment_id,
          e.suffix,
        );
        return true;
      }
    }
    this.sql.exec("DELETE FROM payments WHERE payment_id = ? AND suffix = ? AND state = 'pending'", e.payment_id, e.suffix);
    return true;
  }

  /** Settles pending claims that no request is running (oldest first, bounded). */
  async alarm(): Promise<void> {
    this.alarmSet = false;
    this.ctx.storage.transactionSync(() => this.writeConfirms());
    const now = Date.now();
    const rows = this.sql
      .exec<PayRow>(
        "SELECT * FROM payments WHERE state = 'pending' AND created_at <= ? ORDER BY created_at, payment_id LIMIT 100",
        now - SETTLE_AFTER_MS,
      )
      .toArray()
      .filter((r) => !this.inFlight.has(r.payment_id));
    let unsettled = false;
    for (const r of rows) {
      try {
        if (!(await this.settle(r))) unsettled = true;
      } catch (err) {
        unsettled = true;
        createLogger({ do: "FundsRegistry" }).warn("settling a payment claim failed", { kind: errorKind(err) });
      }
    }
    const oldest = this.sql.exec<{ t: number | null }>("SELECT MIN(created_at) AS t FROM payments WHERE state = 'pending'").one().t;
    if (unsettled || rows.length === 100) await this.ctx.storage.setAlarm(Date.now() + (unsettled ? SETTLE_AFTER_MS : 1));
    else if (oldest !== null) await this.ctx.storage.setAlarm(Math.max(oldest + SETTLE_AFTER_MS, Date.now() + 1));
    else return;
    this.alarmSet = true;
  }

  /**
   * A PI made before this registry existed (its paymentId held by D1's unique index then): its
   * paymentId is recorded as committed to it, so that it stays unique. An entry already there is kept.
   */
  registerExisting(e: { paymentId: string; ownerId: string; accountHex: string; piId: string }): { registered: boolean } {
    const r = this.sql.exec(
      "INSERT INTO payments (payment_id, owner_id, state, suffix, candidates, account, pi_id, created_at) VALUES (?, ?, 'committed', ?, '[]', ?, ?, ?) ON CONFLICT (payment_id) DO NOTHING",
      e.paymentId,
      e.ownerId,
      "legacy",
      e.accountHex,
      e.piId,
      Date.now(),
    );
    return { registered: r.rowsWritten > 0 };
  }

  /** The sweep's safety net: make sure a pending claim has an alarm. */
  async kick(): Promise<number> {
    this.ctx.storage.transactionSync(() => this.writeConfirms());
    const n = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM payments WHERE state = 'pending'").one().n;
    if (n && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + 1);
    return n;
  }

  /**
   * Allotments: a txnId belongs to the client that used it first, with that content; the account's
   * object applies it once (idempotent on txnId). A refused allotment frees its txnId.
   */
  async allot(i: AllotInput): Promise<RegistryAllotOutcome> {
    const content = JSON.stringify([i.account.tenantId, i.account.headOfAccount, i.account.ssuCode, i.type, i.amount, i.programCode ?? null]);
    const seen = this.ctx.storage.transactionSync(() => {
      const e = this.sql.exec<{ owner_id: string; content: string }>("SELECT owner_id, content FROM txns WHERE txn_id = ?", i.txnId).toArray()[0];
      if (!e) this.sql.exec("INSERT INTO txns (txn_id, owner_id, content, created_at) VALUES (?, ?, ?, ?)", i.txnId, i.ownerId, content, Date.now());
      return e ?? null;
    });
    if (seen && seen.owner_id !== i.ownerId) return { kind: "foreign" };
    if (seen && seen.content !== content) return { kind: "content" };
    let r: AllotResult;
    try {
      r = await accountStub(this.env, i.account).allot(i);
    } catch {
      // Unknown whether it applied: the txnId stays this client's; a retry completes it (idempotent).
      return { kind: "unavailable" };
    }
    if (r.ok)
      this.sql.exec(
        "INSERT INTO txns (txn_id, owner_id, content, applied, created_at) VALUES (?, ?, ?, 1, ?) ON CONFLICT (txn_id) DO UPDATE SET applied = 1",
        i.txnId,
        i.ownerId,
        content,
        Date.now(),
      );
    else this.sql.exec("DELETE FROM txns WHERE txn_id = ? AND applied = 0 AND content = ?", i.txnId, content);
    return { kind: "applied", result: r };
  }

  /** A crash after the step's writes are durable (an abort drops writes not yet confirmed). */
  private async maybeCrash(point: RegistryCrashPoint, armed: RegistryCrashPoint | null) {
    if (armed !== point) return;
    await this.ctx.storage.sync();
    this.ctx.abort(`test crash ${point}`);
    throw new Error(`test crash ${point}`);
  }
}
