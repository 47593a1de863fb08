export const SCOPES = [
  "claims:write",
  "claims:read",
  "health",
  "fiscal:write",
  "fiscal:read",
  "funds:write",
  "funds:read",
  "ops",
] as const;
export type Scope = (typeof SCOPES)[number];
