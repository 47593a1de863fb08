import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

// Placeholder until funds land (issue 5): one instance per tenant + head of account + SSU.
export class FundsAccount extends DurableObject<Env> {}
