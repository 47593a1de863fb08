import type { Router } from "../../router";
import { requireAuth } from "../../middleware/auth";

/** Operators' automation (issue 6): the admin key or a client with scope `ops`. */
export const adminOrOps = requireAuth({ adminOnly: true, scopes: ["ops"] });
export const security: Record<string, string[]>[] = [{ apiKey: [] }, { bearerAuth: [] }];
export type { Router };
