import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../storage/db";
import { clients } from "../storage/schema/clients";
import { auditInsert, auditInsertWhere } from "../storage/audit";
import { randomToken, sha256Hex } from "./security/crypto";
import type { Scope } from "./security/scopes";
import { clientDirectory, type ClientLoader, type ClientRecord } from "./client-directory";

export interface IssuedCredentials {
  clientId: string;
  clientSecret: string;
  apiKey: string;
  scopes: string[];
  tenants: string[];
}

type ClientRow = typeof clients.$inferSelect;

const publicView = (r: ClientRow) => ({
  clientId: r.id,
  name: r.name,
  scopes: r.scopes,
  tenants: r.tenants,
  generation: r.generation,
  revokedAt: r.revokedAt,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});
export type ClientView = ReturnType<typeof publicView>;

export const toRecord = (r: ClientRow): ClientRecord => ({
  id: r.id,
  name: r.name,
  scopes: r.scopes,
  tenants: r.tenants,
  generation: r.generation,
  apiKeyHash: r.apiKeyHash,
  revoked: r.revokedAt !== null,
});

/** Reads for the client directory (the isolate's cache of callers). */
export const clientLoader = (db: Db): ClientLoader => ({
  byId: async (id) => {
    const row = await db.select().from(clients).where(eq(clients.id, id)).get();
    return row ? toRecord(row) : null;
  },
  byKeyHash: async (hash) => {
    const row = await db.select().from(clients).where(eq(clients.apiKeyHash, hash)).get();
    return row ? toRecord(row) : null;
  },
});

async function freshCredentials() {
  const clientSecret = `cs_${randomToken(32)}`;
  const apiKey = `ak_${randomToken(32)}`;
  return { clientSecret, apiKey, secretHash: await sha256Hex(clientSecret), apiKeyHash: await sha256Hex(apiKey) };
}

const normaliseTenants = (tenants: readonly string[] | undefined) => [...new Set(tenants ?? [])].sort();

/** Creates a client; its secret and API key are returned once and stored only as hashes. */
export async function createClient(
  db: Db,
  input: { name: string; scopes: Scope[]; tenants?: string[] },
  actor: string,
  requestId: string,
): Promise<IssuedCredentials> {
  const id = `cl_${randomToken(12)}`;
  const creds = await freshCredentials();
  const now = new Date().toISOString();
  const scopes = [...new Set(input.scopes)].sort();
  const tenants = normaliseTenants(input.tenants);
  const row: ClientRow = {
    id,
    name: input.name,
    scopes,
    tenants,
    secretHash: creds.secretHash,
    apiKeyHash: creds.apiKeyHash,
    generation: 1,
    revokedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await db.batch([
    db.insert(clients).values(row),
    auditInsert(db, { actor, action: "client.created", targetType: "client", targetId: id, after: publicView(row), requestId }),
  ]);
  clientDirectory.remember(toRecord(row));
  return { clientId: id, clientSecret: creds.clientSecret, apiKey: creds.apiKey, scopes, tenants };
}

/**
 * A live client's record behind a token or session issued at `generation` (from the isolate's
 * directory: no D1 read while it is fresh), or null once the client is revoked or rotated
 * (rotation bumps the generation).
 */
export async function liveClient(db: Db, id: string, generation: number, defer: (p: Promise<unknown>) => void = () => undefined) {
  const row = await clientDirectory.byId(clientLoader(db), id, defer);
  return row && !row.revoked && row.generation === generation ? row : null;
}

export async function getClient(db: Db, id: string) {
  const row = await db.select().from(clients).where(eq(clients.id, id)).get();
  return row ? publicView(row) : null;
}

export async function listClients(db: Db) {
  return (await db.select().from(clients).orderBy(clients.createdAt).all()).map(publicView);
}

export type ClientChange = { ok: true; value: IssuedCredentials } | { ok: false; reason: "not_found" | "concurrent" };

/**
 * Issues a new secret and key; tokens issued before stop working (generation bump). The update is
 * guarded by the generation it read, so of two concurrent rotations exactly one wins and the other
 * is told so (both used to answer credentials, of which only the last written worked).
 */
export async function rotateClient(db: Db, id: string, actor: string, requestId: string): Promise<ClientChange> {
  const row = await db.select().from(clients).where(eq(clients.id, id)).get();
  if (!row || row.revokedAt) return { ok: false, reason: "not_found" };
  const creds = await freshCredentials();
  const now = new Date().toISOString();
  const next: ClientRow = { ...row, secretHash: creds.secretHash, apiKeyHash: creds.apiKeyHash, generation: row.generation + 1, updatedAt: now };
  const [updated] = await db.batch([
    db
      .update(clients)
      .set({ secretHash: next.secretHash, apiKeyHash: next.apiKeyHash, generation: next.generation, updatedAt: now })
      .where(and(eq(clients.id, id), eq(clients.generation, row.generation)))
      .returning({ id: clients.id }),
    // The audit row only when the rotation itself applied (same guard, evaluated after the update).
    auditInsertWhere(
      db,
      {
        actor,
        action: "client.rotated",
        targetType: "client",
        targetId: id,
        before: publicView(row),
        after: publicView(next),
        requestId,
      },
      sql`EXISTS (SELECT 1 FROM ${clients} WHERE ${clients.id} = ${id} AND ${clients.generation} = ${next.generation} AND ${clients.apiKeyHash} = ${next.apiKeyHash})`,
    ),
  ]);
  if (!updated.length) return { ok: false, reason: "concurrent" };
  clientDirectory.remember(toRecord(next));
  return { ok: true, value: { clientId: id, clientSecret: creds.clientSecret, apiKey: creds.apiKey, scopes: row.scopes, tenants: row.tenants } };
}

/** Revokes a client: its key and every token it holds stop working (here at once, elsewhere within 10 s). */
export async function revokeClient(db: Db, id: string, actor: string, requestId: string): Promise<ClientView | null> {
  const row = await db.select().from(clients).where(eq(clients.id, id)).get();
  if (!row) return null;
  if (row.revokedAt) return publicView(row);
  const now = new Date().toISOString();
  const next = { ...row, revokedAt: now, updatedAt: now };
  await db.batch([
    db.update(clients).set({ revokedAt: now, updatedAt: now }).where(eq(clients.id, id)),
    auditInsert(db, {
      actor,
      action: "client.revoked",
      targetType: "client",
      targetId: id,
      before: publicView(row),
      after: publicView(next),
      requestId,
    }),
  ]);
  clientDirectory.remember(toRecord(next));
  return publicView(next);
}

/** Changes what a client may do (scopes and/or tenants), audited. Null when there is no such client. */
export async function updateClient(
  db: Db,
  id: string,
  change: { scopes?: Scope[]; tenants?: string[] },
  actor: string,
  requestId: string,
): Promise<ClientView | null> {
  const row = await db.select().from(clients).where(eq(clients.id, id)).get();
  if (!row) return null;
  const now = new Date().toISOString();
  const next: ClientRow = {
    ...row,
    scopes: change.scopes ? [...new Set(change.scopes)].sort() : row.scopes,
    tenants: change.tenants ? normaliseTenants(change.tenants) : row.tenants,
    updatedAt: now,
  };
  await db.batch([
    db.update(clients).set({ scopes: next.scopes, tenants: next.tenants, updatedAt: now }).where(eq(clients.id, id)),
    auditInsert(db, {
      actor,
      action: "client.updated",
      targetType: "client",
      targetId: id,
      before: publicView(row),
      after: publicView(next),
      requestId,
    }),
  ]);
  clientDirectory.remember(toRecord(next));
  return publicView(next);
}
