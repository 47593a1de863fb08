import type { Env } from "../env";
import type { CachedToken } from "./token-broker";
import { fetchAssamToken } from "../adapters/assam/token";
import { fetchUmangSessionToken } from "../adapters/umang/session-token";
import { createDb } from "../storage/db";
import { transactionLog } from "../storage/upstream-calls";

export type TokenProvider = "assam" | "umang";

export interface FetchedToken {
  token: string;
  expiresInSeconds: number;
  refreshToken?: string;
  refreshExpiresInSeconds?: number;
}

/**
 * How each upstream's token is fetched; called only inside the TokenBroker Durable Object, which
 * hands the adapter the transaction log as its recorder (adapters write no storage themselves).
 */
export const tokenProviders: Record<TokenProvider, (env: Env, previous?: CachedToken) => Promise<FetchedToken>> = {
  assam: (env) => fetchAssamToken(env, transactionLog(createDb(env.DB))),
  umang: (env, previous) => fetchUmangSessionToken(env, previous, transactionLog(createDb(env.DB))),
};
