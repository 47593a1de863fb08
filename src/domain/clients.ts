import { eq } from "drizzle-orm";
import type { Db } from "../storage/db";
import { clients } from "../storage/schema/clients";
import { auditInsert } from "../storage/audit";
import { randomToken, sha256Hex } from "./security/crypto";
import type { Scope } from "./security/scopes";

export interface IssuedCredentials {
  clientId: string;
  clientSecret: string;
  apiKey: string;
  scopes: string[];
}

const publicView = (r: typeof clients.$inferSelect) => ({
  clientId: r.id,
  name: r.name,
  scopes: r.scopes,
  generation: r.generation,
  revokedAt: r.revokedAt,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});
export type ClientView = ReturnType<typeof publicView>;

async function freshCredentials() {
  const clientSecret = `cs_${randomToken(32)}`;
  const apiKey = `ak_${randomToken(32)}`;
  return { clientSecret, apiKey, secretHash: await sha256Hex(clientSecret), apiKeyHash: await sha256Hex(apiKey) };
}

/** Creates a client; its secret and API key are returned once and stored only as hashes. */
export async function createClient(db: Db, input: { name: string; scopes: Scope[] }, actor: string, requestId: string): Promise<IssuedCredentials> {
  const id = `cl_${randomToken(12)}`;
  const creds = await freshCredentials();
  const now = new Date().toISOString();
  const scopes = [...new Set(input.scopes)].sort();
  const row = { id, name: input.name, scopes, secretHash: creds.secretHash, apiKeyHash: creds.apiKeyHash, generation: 1, createdAt: now, updatedAt: now };
  await db.batch([
    db.insert(clients).values(row),
    auditInsert(db, { actor, action: "client.created", targetType: "client", targetId: id, after: publicView({ ...row, revokedAt: null }), requestId }),
  ]);
  return { clientId: id, clientSecret: creds.clientSecret, apiKey: creds.apiKey, scopes };
}

/**
 * The client row behind a token or session issued at `generation`, or null once the client is
 * revoked or rotated (rotation bumps the generation): how both ends at once.
 */
export async function liveClient(db: Db, id: string, generation: number) {
  const row = await db.select().from(clients).where(eq(clients.id, id)).get();
  return row && !row.revokedAt && row.generation === generation ? row : null;
}

export async function getClient(db: Db, id: string) {
  const row = await db.select().from(clients).where(eq(clients.id, id)).get();
  return row ? publicView(row) : null;
}

export async function listClients(db: Db) {
  return (await db.select().from(clients).orderBy(clients.createdAt).all()).map(publicView);
}

/** Issues a new secret and key; tokens issued before stop working (generation bump). */
export async function rotateClient(db: Db, id: string, actor: string, requestId: string): Promise<IssuedCredentials | null> {
  const row = await db.select().from(clients).where(eq(clients.id, id)).get();
  if (!row || row.revokedAt) return null;
  const creds = await freshCredentials();
  const now = new Date().toISOString();
  const next = { ...row, secretHash: creds.secretHash, apiKeyHash: creds.apiKeyHash, generation: row.generation + 1, updatedAt: now };
  await db.batch([
    db.update(clients).set({ secretHash: next.secretHash, apiKeyHash: next.apiKeyHash, generation: next.generation, updatedAt: now }).where(eq(clients.id, id)),
    auditInsert(db, { actor, action: "client.rotated", targetType: "client", targetId: id, before: publicView(row), after: publicView(next), requestId }),
  ]);
  return { clientId: id, clientSecret: creds.clientSecret, apiKey: creds.apiKey, scopes: row.scopes };
}

/** Revokes a client: its key and every token it holds stop working at once. */
export async function revokeClient(db: Db, id: string, actor: string, requestId: string): Promise<ClientView | null> {
  const row = await db.select().from(clients).where(eq(clients.id, id)).get();
  if (!row) return null;
  if (row.revokedAt) return publicView(row);
  const now = new Date().toISOString();
  const next = { ...row, revokedAt: now, updatedAt: now };
  await db.batch([
    db.update(clients).set({ revokedAt: now, updatedAt: now }).where(eq(clients.id, id)),
    auditInsert(db, { actor, action: "client.revoked", targetType: "client", targetId: id, before: publicView(row), after: publicView(next), requestId }),
  ]);
  return publicView(next);
}
