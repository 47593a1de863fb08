// The operators' console (issue 6): server-rendered pages at /console.
export { registerConsole, createConsoleApp } from "./routes";
