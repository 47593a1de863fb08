import type { Env } from "../../env";
import type { FetchedToken } from "../../durable-objects/token-providers";
import { ApiError } from "../../http/errors";

// Placeholder until the UMANG adapter lands (issue 4).
export async function fetchUmangSessionToken(_env: Env): Promise<FetchedToken> {
  throw new ApiError("CONFIG_INVALID", "the UMANG adapter is not built yet");
}
