import type { Router } from "../../router";

// The funds area registers its routes here.
export function registerFundsRoutes(_app: Router) {}
