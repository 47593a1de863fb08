/**
 * Caller scopes (CONTRACT §4). `health:bridge` (besides `health`) is needed for the UMANG operations
 * that act with the gateway's own ABDM identity; `fiscal:disburse` for raw disbursements, which move
 * money that no funds account backs: both are explicit grants.
 */
export const SCOPES = [
  "claims:write",
  "claims:read",
  "health",
  "health:bridge",
  "fiscal:write",
  "fiscal:disburse",
  "fiscal:read",
  "funds:write",
  "funds:read",
  "ops",
] as const;
export type Scope = (typeof SCOPES)[number];

/** `tenants` on a client: `["*"]` is every tenant; an empty list is none (CONTRACT §4). */
export const ALL_TENANTS = "*";

/** Whether a tenant list admits `tenantId`. */
export const tenantAllowed = (tenants: readonly string[], tenantId: string): boolean => tenants.includes(ALL_TENANTS) || tenants.includes(tenantId);
