import type { Router } from "../../router";

// The health area registers its routes here.
export function registerHealthRoutes(_app: Router) {}
