import { Hono } from "hono";
import { DroppedConnection, FaultController, type Faults } from "./faults";
import { createAssamSandbox, type AssamSandboxOptions } from "./assam/app";
import { createUmangSandbox, type UmangSandboxOptions } from "./umang/app";
import { createIfixSandbox, type IfixSandboxOptions } from "./ifix/app";
import { createAccessSandbox, type AccessSandboxOptions } from "./access/app";

export type Portal = "assam" | "umang" | "ifix";
export const PORTALS: Portal[] = ["assam", "umang", "ifix"];

export interface SandboxOptions {
  assam?: AssamSandboxOptions;
  umang?: UmangSandboxOptions;
  ifix?: IfixSandboxOptions;
  /** The local Cloudflare Access stand-in (console sign-in). */
  access?: AccessSandboxOptions;
  /** Initial faults per portal. */
  faults?: Partial<Record<Portal, Partial<Faults>>>;
}

/**
 * The three portal simulators behind one Hono app, each under its own prefix:
 *   /assam/...  seed 000 (auth/token, api/v1/submissions)
 *   /umang/ws1/1.0/<op>  seed 001
 *   /ifix/ifix/v1/<type>  seed 002
 *   /access/cdn-cgi/access/certs  a local Cloudflare Access stand-in (console sign-in, issue 13)
 * plus control routes:
 *   PUT    /__sandbox/faults/<portal>   set faults (JSON Faults)
 *   DELETE /__sandbox/faults            clear all faults and counters
 *   GET    /__sandbox/faults            current faults and how many were injected
 * The same app runs in Node (tests, through miniflare's outboundService) and in workerd (npm start).
 * State lives in memory: it is a sandbox, and a restart starts it clean.
 */
export function createSandbox(opts: SandboxOptions = {}) {
  const faults: Record<Portal, FaultController> = {
    assam: new FaultController(),
    umang: new FaultController(),
    ifix: new FaultController(),
  };
  for (const p of PORTALS) if (opts.faults?.[p]) faults[p].set(opts.faults[p]!);

  const assam = createAssamSandbox(opts.assam);
  const umang = createUmangSandbox(opts.umang);
  const ifix = createIfixSandbox(opts.ifix);

  const app = new Hono();
  app.get("/__sandbox/faults", (c) =>
    c.json(Object.fromEntries(PORTALS.map((p) => [p, { faults: faults[p].current, injected: faults[p].injected }]))),
  );
  app.put("/__sandbox/faults/:portal", async (c) => {
    const portal = c.req.param("portal") as Portal;
    if (!PORTALS.includes(portal)) return c.json({ error: "unknown portal" }, 404);
    faults[portal].set((await c.req.json()) as Partial<Faults>);
    return c.json({ portal, faults: faults[portal].current });
  });
  app.delete("/__sandbox/faults", (c) => {
    for (const p of PORTALS) faults[p].reset();
    return c.body(null, 204);
  });

  // Inspection routes of each portal (/<portal>/__sandbox/...) are not subject to faults.
  const guarded = (portal: Portal, inner: { fetch: (r: Request) => Response | Promise<Response> }) => {
    const sub = new Hono();
    // A portal reset (/<portal>/__sandbox/reset) starts it afresh: a request still held by a slow
    // fault when the reset came (its caller gave up long before) is dropped, not counted against
    // the new portal. (A UMANG session call held 2.6 s past a test's 2 s timeout landed in the next
    // test's session count.)
    let resets = 0;
    sub.use("*", async (c, next) => {
      if (c.req.path.includes("/__sandbox/")) return next();
      const seen = resets;
      return faults[portal].middleware()(c, async () => {
        if (resets !== seen) throw new DroppedConnection();
        await next();
      });
    });
    sub.all("*", async (c) => {
      const url = new URL(c.req.url);
      url.pathname = url.pathname.replace(new RegExp(`^/${portal}`), "") || "/";
      const res = await inner.fetch(new Request(url, c.req.raw));
      if (url.pathname === "/__sandbox/reset" && res.ok) resets++;
      return res;
    });
    return sub;
  };
  app.route("/assam", guarded("assam", assam.app));
  app.route("/umang", guarded("umang", umang.app));
  app.route("/ifix", guarded("ifix", ifix.app));
  app.route("/access", createAccessSandbox(opts.access).app);
  app.onError((err, c) => {
    if (err instanceof DroppedConnection) throw err;
    return c.text("Internal Server Error", 500);
  });

  return {
    fetch: (req: Request) => app.fetch(req),
    app,
    faults,
    assam,
    umang,
    ifix,
  };
}

export type Sandbox = ReturnType<typeof createSandbox>;
