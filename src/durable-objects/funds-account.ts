import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import {
  PI_TRANSITIONS,
  type AllotResult,
  type AllotmentType,
  type Balance,
  type CommitResult,
  type PiLogEntry,
  type PiState,
  type PiStatus,
  type StatusResult,
} from "../domain/funds/types";

type PiSqlRow = { pi_id: string; payment_id: string; amount: number; status: string; released: number; updated_seq: number; created_at: string; updated_at: string };

function piFromRow(r: PiSqlRow): PiState & { abandoned: boolean } {
  return {
    piId: r.pi_id,
    paymentId: r.payment_id,
    amount: r.amount,
    status: r.status as PiStatus,
    released: r.released === 1,
    updatedSeq: r.updated_seq,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    abandoned: r.status === "ABANDONED",
  };
}

/**
 * One funds account (tenant + head of account + SSU), the only writer of its balance.
 *
 * Every RPC method is synchronous: the balance check and the change it allows run inside one
 * `transactionSync` on this object's SQLite, with no await in between, so no other request can
 * interleave (the eGov reference reads a Double balance, then writes it, with no lock). Amounts are
 * integer paise. Each change bumps `seq`, which the D1 projection uses to apply only newer states.
 */
export class FundsAccount extends DurableObject<Env> {
  private sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
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
    `);
  }

  private balance(): Balance {
    const r = this.sql.exec<{ sanctioned: number; allotted: number; withdrawn: number; committed: number; seq: number }>(
      "SELECT sanctioned, allotted, withdrawn, committed, seq FROM account WHERE id = 1",
    ).one();
    return {
      sanctioned: r.sanctioned === 1,
      allotted: r.allotted,
      withdrawn: r.withdrawn,
      committed: r.committed,
      available: r.allotted - r.withdrawn - r.committed,
      seq: r.seq,
    };
  }

  private bump(): number {
    return this.sql.exec<{ seq: number }>("UPDATE account SET seq = seq + 1 WHERE id = 1 RETURNING seq").one().seq;
  }

  private readPi(piId: string): (PiState & { abandoned: boolean }) | null {
    const rows = this.sql.exec<PiSqlRow>("SELECT * FROM pis WHERE pi_id = ?", piId).toArray();
    return rows.length ? piFromRow(rows[0]) : null;
  }

  private strip(pi: PiState & { abandoned?: boolean }): PiState {
    const { abandoned: _a, ...rest } = pi;
    return rest;
  }

  /** The current balances (for the projection and the sweep). */
  snapshot(): Balance {
    return this.balance();
  }

  /** INITIAL / ADDITIONAL allotment or WITHDRAWAL, idempotent on txnId. */
  allot(txnId: string, type: AllotmentType, amount: number): AllotResult {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError("amount must be positive paise");
    return this.ctx.storage.transactionSync((): AllotResult => {
      const seen = this.sql.exec<{ type: string; amount: number; result: string }>("SELECT type, amount, result FROM txns WHERE txn_id = ?", txnId).toArray();
      if (seen.length) {
        if (seen[0].type !== type || seen[0].amount !== amount) return { ok: false, code: "TXN_CONFLICT", balance: this.balance() };
        return { ...(JSON.parse(seen[0].result) as AllotResult & { ok: true }), duplicate: true };
      }
      const b = this.balance();
      if (type === "INITIAL_ALLOTMENT") {
        if (b.sanctioned) return { ok: false, code: "SANCTION_EXISTS", balance: b };
        this.sql.exec("UPDATE account SET sanctioned = 1, allotted = allotted + ? WHERE id = 1", amount);
      } else if (type === "ADDITIONAL_ALLOTMENT") {
        if (!b.sanctioned) return { ok: false, code: "SANCTION_NOT_FOUND", balance: b };
        // Balances are read back as JS numbers: an allotted total past 2^53 paise would not be exact.
        if (!Number.isSafeInteger(b.allotted + amount)) return { ok: false, code: "TOTAL_TOO_LARGE", balance: b };
        this.sql.exec("UPDATE account SET allotted = allotted + ? WHERE id = 1", amount);
      } else {
        if (!b.sanctioned) return { ok: false, code: "SANCTION_NOT_FOUND", balance: b };
        if (b.available < amount) return { ok: false, code: "INSUFFICIENT_FUNDS", balance: b };
        this.sql.exec("UPDATE account SET withdrawn = withdrawn + ? WHERE id = 1", amount);
      }
      const seq = this.bump();
      const result: AllotResult = { ok: true, duplicate: false, txnId, type, amount, seq, balance: this.balance(), at: new Date().toISOString() };
      this.sql.exec("INSERT INTO txns (txn_id, type, amount, seq, result) VALUES (?, ?, ?, ?, ?)", txnId, type, amount, seq, JSON.stringify(result));
      return result;
    });
  }

  /** Checks available funds and commits `amount` to a new PI in one step; idempotent on piId. */
  commitPi(piId: string, paymentId: string, amount: number): CommitResult {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError("amount must be positive paise");
    return this.ctx.storage.transactionSync((): CommitResult => {
      const existing = this.readPi(piId);
      if (existing) {
        if (existing.abandoned) return { ok: false, code: "ABANDONED", balance: this.balance() };
        return { ok: true, duplicate: true, pi: this.strip(existing), balance: this.balance() };
      }
      const b = this.balance();
      if (!b.sanctioned || b.available < amount) return { ok: false, code: "INSUFFICIENT_FUNDS", balance: b };
      this.sql.exec("UPDATE account SET committed = committed + ? WHERE id = 1", amount);
      const seq = this.bump();
      const now = new Date().toISOString();
      this.sql.exec(
        "INSERT INTO pis (pi_id, payment_id, amount, status, released, updated_seq, created_at, updated_at) VALUES (?, ?, ?, 'INITIATED', 0, ?, ?, ?)",
        piId, paymentId, amount, seq, now, now,
      );
      this.sql.exec(
        "INSERT INTO pi_events (event_id, pi_id, at, source, status_from, status_to, accepted, reason) VALUES (?, ?, ?, 'system', NULL, 'INITIATED', 1, 'funds committed')",
        `create:${piId}`, piId, now,
      );
      return { ok: true, duplicate: false, pi: this.strip(this.readPi(piId)!), balance: this.balance() };
    });
  }

  /**
   * Moves a PI (API status call or iFIX callback). `eventId` makes a redelivered event a no-op;
   * FAILED gives the amount back once (the `released` flag flips inside the same transaction).
   */
  setPiStatus(piId: string, to: PiStatus, opts: { eventId: string; source: "api" | "callback"; reason?: string | null }): StatusResult {
    return this.ctx.storage.transactionSync((): StatusResult => {
      const pi = this.readPi(piId);
      if (!pi || pi.abandoned) return { ok: false, code: "NOT_FOUND" };
      const seen = this.sql.exec("SELECT 1 FROM pi_events WHERE event_id = ?", opts.eventId).toArray();
      if (seen.length) return { ok: true, duplicate: true, changed: false, from: pi.status, to: pi.status, released: false, pi: this.strip(pi), balance: this.balance() };
      const now = new Date().toISOString();
      const log = (accepted: boolean, released: boolean) =>
        this.sql.exec(
          "INSERT INTO pi_events (event_id, pi_id, at, source, status_from, status_to, accepted, released, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          opts.eventId, piId, now, opts.source, pi.status, to, accepted ? 1 : 0, released ? 1 : 0, opts.reason ?? null,
        );
      if (pi.status === to) {
        log(true, false);
        return { ok: true, duplicate: false, changed: false, from: pi.status, to, released: false, pi: this.strip(pi), balance: this.balance() };
      }
      if (!PI_TRANSITIONS[pi.status].includes(to)) {
        log(false, false);
        return { ok: false, code: "INVALID_STATE", from: pi.status, to, pi: this.strip(pi) };
      }
      let released = false;
      if (to === "FAILED" && !pi.released) {
        this.sql.exec("UPDATE account SET committed = committed - ? WHERE id = 1", pi.amount);
        released = true;
      }
      const seq = this.bump();
      this.sql.exec(
        "UPDATE pis SET status = ?, released = released | ?, updated_seq = ?, updated_at = ? WHERE pi_id = ?",
        to, released ? 1 : 0, seq, now, piId,
      );
      log(true, released);
      return { ok: true, duplicate: false, changed: true, from: pi.status, to, released, pi: this.strip(this.readPi(piId)!), balance: this.balance() };
    });
  }

  /**
   * Settles a reservation that never completed: the PI if it was committed here; otherwise a
   * tombstone, so a late commitPi for the same id is refused (no commit after abandonment).
   */
  abandonPi(piId: string): { committed: boolean; pi?: PiState; balance: Balance } {
    return this.ctx.storage.transactionSync(() => {
      const pi = this.readPi(piId);
      if (pi && !pi.abandoned) return { committed: true, pi: this.strip(pi), balance: this.balance() };
      if (!pi) {
        const now = new Date().toISOString();
        this.sql.exec(
          "INSERT INTO pis (pi_id, payment_id, amount, status, released, updated_seq, created_at, updated_at) VALUES (?, '', 0, 'ABANDONED', 1, 0, ?, ?)",
          piId, now, now,
        );
      }
      return { committed: false, balance: this.balance() };
    });
  }

  /** A PI with its full log (every status call, accepted or not). */
  getPi(piId: string): { pi: PiState; log: PiLogEntry[] } | null {
    const pi = this.readPi(piId);
    if (!pi || pi.abandoned) return null;
    const log = this.sql
      .exec<{ at: string; source: string; status_from: string | null; status_to: string; accepted: number; released: number; reason: string | null }>(
        "SELECT at, source, status_from, status_to, accepted, released, reason FROM pi_events WHERE pi_id = ? ORDER BY id",
        piId,
      )
      .toArray()
      .map((r) => ({
        at: r.at,
        source: r.source as PiLogEntry["source"],
        from: r.status_from as PiStatus | null,
        to: r.status_to as PiStatus,
        accepted: r.accepted === 1,
        reason: r.reason,
        released: r.released === 1,
      }));
    return { pi: this.strip(pi), log };
  }

  /** PIs changed after `seq` (oldest first), for the sweep's copy into D1. */
  pisSince(seq: number, limit = 200): PiState[] {
    return this.sql
      .exec<PiSqlRow>("SELECT * FROM pis WHERE updated_seq > ? AND status <> 'ABANDONED' ORDER BY updated_seq LIMIT ?", seq, limit)
      .toArray()
      .map((r) => this.strip(piFromRow(r)));
  }
}
