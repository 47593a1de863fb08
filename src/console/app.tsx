import { Hono } from "hono";
import type { Router } from "../http/router";
import { GatewayError, statusOf } from "../http/errors";
import { createLogger } from "../lib/logger";
import { errorPage, type C } from "./render";
import { requireSession, type ConsoleEnv } from "./session";
import { accessEnabled, getAccessConfig } from "./access";
import { registerSignIn } from "./routes/sign-in";
import { overview } from "./routes/overview";
import { registerRecords } from "./routes/records";
import { registerTransactions } from "./routes/transactions";
import { registerDeadLetters } from "./routes/dead-letters";
import { registerReconciliation } from "./routes/reconciliation";
import { registerPayments } from "./routes/payments";
import { registerAudit } from "./routes/audit";
import { registerAlerts } from "./routes/alerts";
import { registerClients } from "./routes/clients";
import { registerOperations } from "./routes/operations";

/**
 * Security headers for every console answer: nothing cached, framed, scripted or sent elsewhere.
 * Forms post to the console only; signing out may redirect to Cloudflare Access's logout, which the
 * browser checks against form-action too.
 */
function hardenHeaders(c: C) {
  let formAction = "'self'";
  try {
    if (accessEnabled(c.env)) formAction += ` ${new URL(getAccessConfig(c.env).CF_ACCESS_TEAM_DOMAIN).origin}`;
  } catch {
    /* misconfigured Access: forms stay on the console */
  }
  c.header("Cache-Control", "no-store");
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "same-origin");
  c.header(
    "Content-Security-Policy",
    `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
  );
}

/**
 * The operators' console (CONTRACT §10, issue 13): server-rendered pages, one file per page under
 * pages/, their routes by area under routes/. Every page needs a session (sign-in aside); every
 * form post names its action, checked against the session's role (roles.ts) before anything else.
 */
export function createConsoleApp() {
  const app = new Hono<ConsoleEnv>();
  app.use("*", async (c, next) => {
    await next();
    hardenHeaders(c);
  });
  app.onError((err, c) => {
    hardenHeaders(c);
    if (err instanceof GatewayError && statusOf(err) < 500) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return errorPage(c, statusOf(err), err.message);
    }
    createLogger({ requestId: c.get("requestId") }).error("console error", { kind: err instanceof Error ? err.name : typeof err });
    return errorPage(c, 500, `Internal error (request ${c.get("requestId") ?? "?"}).`);
  });

  registerSignIn(app, overview);
  // Every other page needs a session (the dev-only Access callback sets one up, so it is outside).
  app.use("/*", async (c, next) => {
    const p = c.req.path;
    if (p === "/console" || p === "/console/" || p === "/console/sign-in" || p === "/console/dev/access-callback") return next();
    return requireSession()(c, next);
  });
  registerRecords(app);
  registerTransactions(app);
  registerDeadLetters(app);
  registerReconciliation(app);
  registerPayments(app);
  registerAudit(app);
  registerAlerts(app);
  registerClients(app);
  registerOperations(app);
  return app;
}

/** Mounts the operators' console at /console (CONTRACT §10). */
export function registerConsole(app: Router) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  app.route("/console", createConsoleApp() as any);
}
