import type { Env } from "../env";
import type { CachedToken } from "./token-broker";
import { fetchAssamToken } from "../adapters/assam/token";
import { createDb } from "../storage/db";
import { transactionLog } from "../storage/upstream-calls";
import { fetchUmangSessionToken } from "../adapters/umang/session-token";

export type TokenProvider = "assam" | "umang";

export interface FetchedToken {
  token: string;
  expiresInSeconds: number;
  refreshToken?: string;
  refreshExpiresInSeconds?: number;
}

/** How each upstream's token is fetched; called only inside the TokenBroker Durable Object. */
export const tokenProviders: Record<TokenProvider, (env: Env, previous?: CachedToken) => Promise<FetchedToken>> = {
  // The adapter writes no storage: the broker hands it the transaction log.
  assam: (env) => fetchAssamToken(env, transactionLog(createDb(env.DB))),
  umang: fetchUmangSessionToken,
};
