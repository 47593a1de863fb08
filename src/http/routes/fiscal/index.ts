import type { Router } from "../../router";

// The fiscal area registers its routes here.
export function registerFiscalRoutes(_app: Router) {}
