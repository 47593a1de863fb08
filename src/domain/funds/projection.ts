import { redact } from "../../lib/redact";
import type { AccountKey, Balance, PiStatus } from "./types";
import { HELD_BY_ACCOUNT } from "./retention";

/**
 * The D1 projection of one account, written by its Durable Object (alarm, or an allotment's own
 * request) in one D1 batch per round. Every statement is guarded so that a round applied twice (a
 * crash between D1's commit and the object noting it) or out of order changes nothing:
 * - balances and PI rows apply only a newer `seq`;
 * - an audit entry is inserted only while the account's projected `seq` is below the entry's (the
 *   balance upsert comes last in the batch, so every entry of the round sees the seq before it);
 * - allotments are inserted once per txnId.
 * D1 is never read back to decide anything about money.
 */
export interface ProjectedPi {
  piId: string;
  paymentId: string;
  ownerId: string;
  requestedHeadOfAccount: string | null;
  requestedSsuCode: string | null;
  amount: number;
  beneficiaryCount: number;
  status: PiStatus;
  seq: number;
  messageId: string;
  programCode: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProjectedTxn {
  txnId: string;
  ownerId: string;
  type: string;
  amount: number;
  seq: number;
  result: unknown;
  createdAt: string;
}

export interface ProjectedAudit {
  seq: number;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface ProjectionRound {
  account: AccountKey;
  /** The balance now, labelled with the seq up to which this round carries every change. */
  balance: Balance;
  upTo: number;
  pis: ProjectedPi[];
  /** PIs made before the object kept their details (their D1 rows exist): status only. */
  legacyPis?: { piId: string; status: PiStatus; seq: number; updatedAt: string }[];
  txns: ProjectedTxn[];
  audits: ProjectedAudit[];
}

export { HELD_BY_ACCOUNT };

const chunks = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(redact(v)));

/** The statements of one round, in the order they must run (D1: at most 100 bound parameters each). */
export function projectionStatements(db: D1Database, r: ProjectionRound): D1PreparedStatement[] {
  const k = r.account;
  const out: D1PreparedStatement[] = [];
  for (const part of chunks(r.audits, 10)) {
    const rows = part.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ");
    out.push(
      db
        .prepare(
          `INSERT INTO audit_log (at, actor, action, target_type, target_id, before, after, request_id)
           SELECT column1, column2, column3, column4, column5, column6, column7, column8 FROM (VALUES ${rows})
           WHERE column9 > COALESCE((SELECT seq FROM funds_accounts WHERE tenant_id = ? AND head_of_account = ? AND ssu_code = ?), 0)`,
        )
        .bind(
          ...part.flatMap((a) => [a.at, a.actor, a.action, a.targetType, a.targetId, json(a.before), json(a.after), a.requestId, a.seq]),
          k.tenantId,
          k.headOfAccount,
          k.ssuCode,
        ),
    );
  }
  for (const part of chunks(r.txns, 8)) {
    out.push(
      db
        .prepare(
          `INSERT INTO funds_allotments (txn_id, owner_id, tenant_id, head_of_account, ssu_code, type, amount, state, seq, result, created_at)
           VALUES ${part.map(() => "(?, ?, ?, ?, ?, ?, ?, 'APPLIED', ?, ?, ?)").join(", ")}
           ON CONFLICT (txn_id) DO UPDATE SET state = 'APPLIED', seq = excluded.seq, result = excluded.result
           WHERE funds_allotments.state <> 'APPLIED'`,
        )
        .bind(
          ...part.flatMap((t) => [
            t.txnId,
            t.ownerId,
            k.tenantId,
            k.headOfAccount,
            k.ssuCode,
            t.type,
            t.amount,
            t.seq,
            JSON.stringify(t.result),
            t.createdAt,
          ]),
        ),
    );
  }
  for (const part of chunks(r.pis, 5)) {
    out.push(
      db
        .prepare(
          `INSERT INTO payment_instructions (pi_id, payment_id, owner_id, tenant_id, requested_head_of_account, requested_ssu_code, head_of_account, ssu_code,
             amount, beneficiary_count, beneficiaries_enc, status, live, seq, message_id, program_code, created_at, updated_at)
           VALUES ${part.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}
           ON CONFLICT (pi_id) DO UPDATE SET status = excluded.status, live = excluded.live, seq = excluded.seq, updated_at = excluded.updated_at,
             head_of_account = excluded.head_of_account, ssu_code = excluded.ssu_code
           WHERE excluded.seq > payment_instructions.seq`,
        )
        .bind(
          ...part.flatMap((p) => [
            p.piId,
            p.paymentId,
            p.ownerId,
            k.tenantId,
            p.requestedHeadOfAccount,
            p.requestedSsuCode,
            k.headOfAccount,
            k.ssuCode,
            p.amount,
            p.beneficiaryCount,
            HELD_BY_ACCOUNT,
            p.status,
            p.status === "FAILED" ? 0 : 1,
            p.seq,
            p.messageId,
            p.programCode,
            p.createdAt,
            p.updatedAt,
          ]),
        ),
    );
  }
  for (const p of r.legacyPis ?? []) {
    out.push(
      db
        .prepare("UPDATE payment_instructions SET status = ?, live = ?, seq = ?, updated_at = ? WHERE pi_id = ? AND seq < ?")
        .bind(p.status, p.status === "FAILED" ? 0 : 1, p.seq, p.updatedAt, p.piId, p.seq),
    );
  }
  const b = r.balance;
  const now = new Date().toISOString();
  out.push(
    db
      .prepare(
        `INSERT INTO funds_accounts (tenant_id, head_of_account, ssu_code, sanctioned, allotted, withdrawn, committed, available, seq, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, head_of_account, ssu_code) DO UPDATE SET sanctioned = excluded.sanctioned, allotted = excluded.allotted,
           withdrawn = excluded.withdrawn, committed = excluded.committed, available = excluded.available, seq = excluded.seq, updated_at = excluded.updated_at
         WHERE excluded.seq > funds_accounts.seq`,
      )
      .bind(k.tenantId, k.headOfAccount, k.ssuCode, b.sanctioned ? 1 : 0, b.allotted, b.withdrawn, b.committed, b.available, r.upTo, now, now),
  );
  return out;
}
