import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

// Placeholder until claims delivery lands (issue 3): paces requests toward one upstream.
export class RatePacer extends DurableObject<Env> {}
