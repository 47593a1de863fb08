/**
 * The callers' records, cached in the isolate so that checking a caller needs no database read on
 * the hot path (CONTRACT §4: a rotation, revocation or change of scopes/tenants takes effect
 * everywhere within 10 seconds, at once in the isolate that made it).
 *
 * How the bound holds: an entry is served without a read while it is younger than FRESH_MS; between
 * FRESH_MS and MAX_STALENESS_MS it is still served, and one refresh per key runs behind the response
 * (waitUntil); past MAX_STALENESS_MS the request waits for the read. So no answer ever rests on a
 * record read more than MAX_STALENESS_MS ago, and under steady traffic no request waits on D1.
 * Unknown ids and keys are cached as absent under the same bound (a client created in another
 * isolate works here within it). The maps are bounded: the oldest entries go first.
 */
export const FRESH_MS = 5_000;
export const MAX_STALENESS_MS = 10_000;
const MAX_ENTRIES = 10_000;

export interface ClientRecord {
  id: string;
  name: string;
  scopes: string[];
  tenants: string[];
  generation: number;
  apiKeyHash: string;
  revoked: boolean;
}

export interface ClientLoader {
  byId(id: string): Promise<ClientRecord | null>;
  byKeyHash(hash: string): Promise<ClientRecord | null>;
}

interface Entry<T> {
  value: T;
  at: number;
  refreshing?: Promise<T>;
}

/** Runs work after the response where the runtime allows it (ctx.waitUntil); else lets it run. */
export type Defer = (work: Promise<unknown>) => void;

class BoundedCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly now: () => number,
    private readonly max: number,
  ) {}

  async get(key: string, load: () => Promise<T>, defer: Defer): Promise<T> {
    const e = this.entries.get(key);
    const age = e ? this.now() - e.at : Infinity;
    if (e && age < FRESH_MS) return e.value;
    if (e && age < MAX_STALENESS_MS) {
      if (!e.refreshing) {
        e.refreshing = this.fetch(key, load);
        defer(e.refreshing);
      }
      return e.value;
    }
    return this.fetch(key, load);
  }

  /**
   * A read made by (and awaited only in) the request that asked; the result replaces the entry. Not
   * shared with other requests: a D1 read begun in one request's context and awaited or handed to
   * waitUntil in another is I/O on behalf of a different request, which workerd refuses. Other
   * requests meanwhile answer from the entry while it is within the bound (`refreshing` only tells
   * them a refresh is under way), or read for themselves when there is none.
   */
  private fetch(key: string, load: () => Promise<T>): Promise<T> {
    const startedAt = this.now();
    return load()
      .then((value) => {
        this.set(key, value, startedAt);
        return value;
      })
      .finally(() => {
        const e = this.entries.get(key);
        if (e) e.refreshing = undefined;
      });
  }

  /** `at` is when the read began: a record is as old as the moment it was asked for. */
  set(key: string, value: T, at = this.now()) {
    const current = this.entries.get(key);
    if (current && current.at >= at) return; // a local change made since this read began wins
    this.entries.delete(key);
    this.entries.set(key, { value, at });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string) {
    this.entries.delete(key);
  }

  clear() {
    this.entries.clear();
  }
}

export class ClientDirectory {
  private readonly ids: BoundedCache<ClientRecord | null>;
  private readonly keys: BoundedCache<string | null>;

  constructor(
    private readonly now: () => number = Date.now,
    max = MAX_ENTRIES,
  ) {
    this.ids = new BoundedCache(now, max);
    this.keys = new BoundedCache(now, max);
  }

  /** The client with this id (null when unknown), at most MAX_STALENESS_MS old. */
  byId(loader: ClientLoader, id: string, defer: Defer): Promise<ClientRecord | null> {
    return this.ids.get(id, () => loader.byId(id), defer);
  }

  /**
   * The client holding this API key hash. The key → id link and the client's record are each held
   * under the bound, and the record must still carry this hash (a rotated key stops with it).
   */
  async byKeyHash(loader: ClientLoader, hash: string, defer: Defer): Promise<ClientRecord | null> {
    const id = await this.keys.get(
      hash,
      async () => {
        const row = await loader.byKeyHash(hash);
        if (row) this.ids.set(row.id, row);
        return row?.id ?? null;
      },
      defer,
    );
    if (!id) return null;
    const row = await this.byId(loader, id, defer);
    return row && row.apiKeyHash === hash ? row : null;
  }

  /** A change made in this isolate: it takes effect here at once. */
  remember(row: ClientRecord) {
    this.ids.set(row.id, row);
    this.keys.set(row.apiKeyHash, row.id);
  }

  /** Tests: start cold. */
  clear() {
    this.ids.clear();
    this.keys.clear();
  }
}

/** The isolate's directory (module state lives as long as the isolate). */
export const clientDirectory = new ClientDirectory();
