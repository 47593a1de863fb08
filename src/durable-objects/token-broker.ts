import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { GatewayError, type ErrorCode, type ErrorDetail } from "../errors";
import { tokenProviders, type TokenProvider, type FetchedToken } from "./token-providers";

/** A cached upstream token. `expiresAt` lives inside the value: KV's own TTL has a 60 s floor. */
export interface CachedToken {
  token: string;
  /** When the upstream said the token expires (ms since the epoch). */
  expiresAt: number;
  /** When it was fetched: the margin kept before expiry is a share of the token's life. */
  issuedAt?: number;
  refreshToken?: string;
  refreshExpiresAt?: number;
}

const kvKey = (provider: TokenProvider) => `upstream-token:${provider}`;

/**
 * How long before expiry a token stops being handed out: 60 s or a tenth of its life, whichever is
 * less, so a 20 s token serves 18 s and a 10-minute one 9 minutes. A value without `issuedAt`
 * (written before it was kept) gets the full 60 s.
 */
export function refreshMarginMs(t: CachedToken): number {
  const life = t.issuedAt === undefined ? NaN : t.expiresAt - t.issuedAt;
  return life > 0 ? Math.min(60_000, life / 10) : 60_000;
}

/** A token is used until shortly before expiry (see refreshMarginMs). */
export function isFresh(t: CachedToken | null | undefined, now = Date.now()): t is CachedToken {
  if (!t || typeof t.token !== "string" || typeof t.expiresAt !== "number") return false;
  return t.expiresAt - now > refreshMarginMs(t);
}

/**
 * One instance per upstream (idFromName(provider)). It is the only place that fetches an upstream
 * token, so a refresh happens once however many requests in however many isolates need it at the
 * same moment; KV holds the result for every isolate to read cheaply.
 */
export class TokenBroker extends DurableObject<Env> {
  private current = new Map<TokenProvider, CachedToken>();
  private inflight = new Map<TokenProvider, Promise<CachedToken>>();

  /**
   * The current token; `rejected` is a token the upstream just refused (401): never hand it out
   * again. Answers an outcome rather than throwing: an exception thrown across RPC reaches the caller
   * as a plain Error (its code and status lost) and is reported as uncaught here.
   */
  async getToken(provider: TokenProvider, rejected?: string): Promise<TokenOutcome> {
    try {
      const t = await this.acquire(provider, rejected);
      return { ok: true, token: t.token, expiresAt: t.expiresAt, issuedAt: t.issuedAt };
    } catch (err) {
      return { ok: false, failure: toFailure(err) };
    }
  }

  private acquire(provider: TokenProvider, rejected?: string): Promise<CachedToken> {
    const cur = this.current.get(provider);
    if (isFresh(cur) && cur.token !== rejected) return Promise.resolve(cur);
    const pending = this.inflight.get(provider);
    if (pending) return pending;
    const p = this.refresh(provider, cur).finally(() => this.inflight.delete(provider));
    this.inflight.set(provider, p);
    return p;
  }

  /** Drops a token everywhere (e.g. after configuration changes). */
  async invalidate(provider: TokenProvider): Promise<void> {
    this.current.delete(provider);
    await this.env.TOKEN_CACHE.delete(kvKey(provider));
  }

  private async refresh(provider: TokenProvider, previous?: CachedToken): Promise<CachedToken> {
    const fetched: FetchedToken = await tokenProviders[provider](this.env, previous);
    const now = Date.now();
    const cached: CachedToken = {
      token: fetched.token,
      // The real expiry; isFresh keeps the margin, the same for this object and for KV's readers.
      expiresAt: now + fetched.expiresInSeconds * 1000,
      issuedAt: now,
      refreshToken: fetched.refreshToken,
      refreshExpiresAt: fetched.refreshExpiresInSeconds ? now + fetched.refreshExpiresInSeconds * 1000 : undefined,
    };
    this.current.set(provider, cached);
    const ttl = Math.max(60, Math.ceil((cached.expiresAt - now) / 1000));
    // The refresh token stays inside this object: KV holds only what callers need.
    const shared: CachedToken = { token: cached.token, expiresAt: cached.expiresAt, issuedAt: cached.issuedAt };
    await this.env.TOKEN_CACHE.put(kvKey(provider), JSON.stringify(shared), { expirationTtl: ttl });
    return cached;
  }
}

/** Why a token could not be had, in a form that crosses RPC intact. */
export interface TokenFailure {
  code: ErrorCode;
  message: string;
  details: ErrorDetail[];
  /** The token endpoint's HTTP status, when it answered. */
  httpStatus: number | null;
}

export type TokenOutcome = { ok: true; token: string; expiresAt: number; issuedAt?: number } | { ok: false; failure: TokenFailure };

function toFailure(err: unknown): TokenFailure {
  const httpStatus = typeof (err as { httpStatus?: unknown })?.httpStatus === "number" ? (err as { httpStatus: number }).httpStatus : null;
  if (err instanceof GatewayError) return { code: err.code, message: err.message, details: err.details, httpStatus };
  return { code: "UPSTREAM_UNAVAILABLE", message: "the upstream token could not be obtained", details: [], httpStatus };
}

/** A token refresh that failed, rebuilt on the caller's side of the RPC with its code and status. */
export class UpstreamTokenError extends GatewayError {
  readonly httpStatus: number | null;
  constructor(failure: TokenFailure) {
    super(failure.code, failure.message, { details: failure.details });
    this.httpStatus = failure.httpStatus;
  }
}

/**
 * This isolate's copy of each provider's token, in front of KV, so a warm call reads nothing. Served
 * only while isFresh (the margin KV's readers keep) and never once a caller here reported it refused.
 * A token refused or invalidated elsewhere stays in other isolates' copies until each meets the
 * refusal itself and passes `rejected`: the path a KV reader holding a refused token already takes
 * (KV is eventually consistent), and the broker answers every such caller with the one new token.
 */
const isolateTokens = new Map<TokenProvider, CachedToken>();
/** The last token the upstream refused to a caller in this isolate: a stale KV read must not bring it back. */
const refusedHere = new Map<TokenProvider, string>();

function keep(provider: TokenProvider, t: CachedToken) {
  if (refusedHere.get(provider) !== t.token) isolateTokens.set(provider, { token: t.token, expiresAt: t.expiresAt, issuedAt: t.issuedAt });
}

/** Forgets this isolate's copies: with the broker's `invalidate` (which reaches only the broker and KV), in tests. */
export function forgetIsolateTokens() {
  isolateTokens.clear();
  refusedHere.clear();
}

/**
 * Reads an upstream token: this isolate's copy, then KV (cheap, every isolate), then the broker when
 * missing, stale, or just refused by the upstream. Throws UpstreamTokenError when none can be had.
 */
export async function getUpstreamToken(env: Env, provider: TokenProvider, opts: { rejected?: string } = {}): Promise<string> {
  let rejected = opts.rejected;
  if (rejected) {
    refusedHere.set(provider, rejected);
    if (isolateTokens.get(provider)?.token === rejected) isolateTokens.delete(provider);
  } else {
    const mine = isolateTokens.get(provider);
    if (isFresh(mine)) return mine.token;
    const hit = await env.TOKEN_CACHE.get<CachedToken>(kvKey(provider), "json");
    if (isFresh(hit)) {
      // KV may still hold a token refused here (eventual consistency): ask the broker for its successor.
      if (hit.token !== refusedHere.get(provider)) {
        keep(provider, hit);
        return hit.token;
      }
      rejected = hit.token;
    }
  }
  const broker = env.TOKEN_BROKER.get(env.TOKEN_BROKER.idFromName(provider), { locationHint: "apac" });
  // RPC's generated stub type flattens the union; the value is exactly a TokenOutcome.
  const outcome = (await broker.getToken(provider, rejected)) as unknown as TokenOutcome;
  if (!outcome.ok) throw new UpstreamTokenError(outcome.failure);
  // Told of the refusal, the broker fetched anew and got the same token back (an upstream may re-issue
  // one): it is current again, or every call here would send the broker for another refresh.
  if (rejected === outcome.token) refusedHere.delete(provider);
  keep(provider, outcome);
  return outcome.token;
}
