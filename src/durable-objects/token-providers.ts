import type { Env } from "../env";
import type { CachedToken } from "./token-broker";
import { fetchAssamToken } from "../adapters/assam/token";
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
  assam: fetchAssamToken,
  umang: fetchUmangSessionToken,
};
