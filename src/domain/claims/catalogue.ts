import { desc, eq } from "drizzle-orm";
import type { Db } from "../../storage/db";
import { catalogueVersions, type CatalogueActivity } from "../../storage/schema/catalogue-versions";
import { auditInsert } from "../../storage/audit";
import { sha256Hex } from "../security/crypto";
import { paiseToRupees } from "../../lib/money";

export interface CatalogueVersion {
  version: string;
  effectiveFrom: string;
  activities: CatalogueActivity[];
  createdAt: string;
}

/**
 * All versions, newest `effectiveFrom` first (ties: the later stored one first). The table is small
 * (a version a year or so), so a request reads it once and resolves every claim against it.
 */
export async function loadCatalogue(db: Db): Promise<CatalogueVersion[]> {
  return db
    .select({
      version: catalogueVersions.version,
      effectiveFrom: catalogueVersions.effectiveFrom,
      activities: catalogueVersions.activities,
      createdAt: catalogueVersions.createdAt,
    })
    .from(catalogueVersions)
    .orderBy(desc(catalogueVersions.effectiveFrom), desc(catalogueVersions.id))
    .all();
}

/** How long an isolate trusts its copy of the catalogue: another isolate's change shows within this. */
export const CATALOGUE_CACHE_MS = 10_000;

let cached: { at: number; versions: Promise<CatalogueVersion[]> } | null = null;

/**
 * The catalogue as this isolate last read it, re-read when older than CATALOGUE_CACHE_MS (so a new
 * version stored through another isolate applies within 10 s; one stored here applies at once). The
 * intake needs it for every claim: this keeps the read off the hot path.
 */
export function cachedCatalogue(db: Db, now: number = Date.now()): Promise<CatalogueVersion[]> {
  if (cached && now - cached.at < CATALOGUE_CACHE_MS && now >= cached.at) return cached.versions;
  const versions = loadCatalogue(db);
  const entry = { at: now, versions };
  cached = entry;
  // A failed read is not kept: the next request reads again.
  versions.catch(() => {
    if (cached === entry) cached = null;
  });
  return versions;
}

/** Forgets this isolate's copy (after a change made here). */
export const invalidateCatalogue = () => {
  cached = null;
};

/** The version in force for a period: the latest whose effectiveFrom is on or before it. */
export const versionInForce = (versions: CatalogueVersion[], period: string): CatalogueVersion | null =>
  versions.find((v) => v.effectiveFrom <= period) ?? null;

export const versionNamed = (versions: CatalogueVersion[], name: string | null): CatalogueVersion | null =>
  name === null ? null : (versions.find((v) => v.version === name) ?? null);

export interface CatalogueInput {
  version: string;
  effectiveFrom: string;
  activities: { code: string; name: string; amountPaise: number }[];
}

export const catalogueView = (v: CatalogueVersion) => ({
  version: v.version,
  effectiveFrom: v.effectiveFrom,
  activities: v.activities.map((a) => ({ code: a.code, name: a.name, amount: paiseToRupees(a.amountPaise) })),
  createdAt: v.createdAt,
});

/** The stored row's public part (the row also holds its content hash and author). */
const asVersion = (r: CatalogueVersion): CatalogueVersion => ({
  version: r.version,
  effectiveFrom: r.effectiveFrom,
  activities: r.activities,
  createdAt: r.createdAt,
});

const contentHash = (c: CatalogueInput) =>
  sha256Hex(
    JSON.stringify({
      e: c.effectiveFrom,
      a: [...c.activities].sort((x, y) => (x.code < y.code ? -1 : 1)).map((a) => [a.code, a.name, a.amountPaise]),
    }),
  );

/**
 * Stores a version. Versions are immutable because claims record the one they used: the same
 * version again with the same content is a no-op (`created: false`), with other content a conflict.
 */
export async function putCatalogueVersion(
  db: Db,
  input: CatalogueInput,
  actor: string,
  requestId: string,
): Promise<{ created: boolean; conflict: boolean; version: CatalogueVersion }> {
  const hash = await contentHash(input);
  const existing = await db.select().from(catalogueVersions).where(eq(catalogueVersions.version, input.version)).get();
  if (existing) return { created: false, conflict: existing.contentHash !== hash, version: asVersion(existing) };
  const createdAt = new Date().toISOString();
  const row = {
    version: input.version,
    effectiveFrom: input.effectiveFrom,
    activities: input.activities,
    contentHash: hash,
    createdAt,
    createdBy: actor,
  };
  const before = versionInForce(await loadCatalogue(db), input.effectiveFrom);
  invalidateCatalogue();
  try {
    await db.batch([
      db.insert(catalogueVersions).values(row),
      auditInsert(db, {
        actor,
        action: "catalogue.put",
        targetType: "catalogue",
        targetId: input.version,
        before: before ? { versionInForce: before.version, effectiveFrom: before.effectiveFrom, activities: before.activities.length } : null,
        after: {
          version: input.version,
          effectiveFrom: input.effectiveFrom,
          activities: input.activities.map((a) => ({ code: a.code, amountPaise: a.amountPaise })),
        },
        requestId,
      }),
    ]);
    invalidateCatalogue();
  } catch (err) {
    // A concurrent PUT of the same version: answer as if it came second.
    const again = await db.select().from(catalogueVersions).where(eq(catalogueVersions.version, input.version)).get();
    if (!again) throw err;
    return { created: false, conflict: again.contentHash !== hash, version: asVersion(again) };
  }
  return { created: true, conflict: false, version: asVersion(row) };
}
