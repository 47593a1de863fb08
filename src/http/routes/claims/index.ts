import type { Router } from "../../router";

// The claims area registers its routes here.
export function registerClaimsRoutes(_app: Router) {}
