import type { Env } from "../../env";
import type { FetchedToken } from "../../durable-objects/token-providers";
import { ApiError } from "../../http/errors";

// Placeholder until the Assam adapter lands (issue 3).
export async function fetchAssamToken(_env: Env): Promise<FetchedToken> {
  throw new ApiError("CONFIG_INVALID", "the Assam adapter is not built yet");
}
