// The operators' console (issue 6): server-rendered pages at /console.
export { registerConsole, createConsoleApp } from "./app";
// The operators' JSON routes (/v1/admin/dead-letters, …) live in src/http/routes/ops.
export { registerOpsRoutes } from "../http/routes/ops";
