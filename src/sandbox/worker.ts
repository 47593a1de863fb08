import { createSandbox, type Sandbox, type SandboxOptions } from "./index";
import { DroppedConnection } from "./faults";

/**
 * The sandbox portals as a Worker of their own, for `npm start` (src/sandbox/wrangler.jsonc, port
 * 8788). SANDBOX_CONFIG (JSON, written by scripts/start.mjs into src/sandbox/.dev.vars) carries the
 * credentials and keys it shares with the gateway; SANDBOX_FAULTS optional initial faults.
 * State is in memory: restarting the sandbox starts the portals clean.
 */
interface SandboxEnv {
  SANDBOX_CONFIG?: string;
  SANDBOX_FAULTS?: string;
}

let sandbox: Sandbox | undefined;
let pending: ExecutionContext | undefined;

function build(env: SandboxEnv): Sandbox {
  const options = JSON.parse(env.SANDBOX_CONFIG ?? "{}") as SandboxOptions;
  if (env.SANDBOX_FAULTS) options.faults = JSON.parse(env.SANDBOX_FAULTS);
  // Work a portal starts after answering (e.g. iFIX callbacks) is kept alive by the request's ctx.
  options.ifix = { ...options.ifix, deliverCallbacks: true, schedule: (p: Promise<unknown>) => pending?.waitUntil(p) } as SandboxOptions["ifix"];
  return createSandbox(options);
}

export default {
  async fetch(request: Request, env: SandboxEnv, ctx: ExecutionContext): Promise<Response> {
    sandbox ??= build(env);
    pending = ctx;
    try {
      return await sandbox.fetch(request);
    } catch (err) {
      if (err instanceof DroppedConnection) {
        // A Worker cannot cut a socket; a body that errors mid-stream is the closest the caller sees.
        return new Response(new ReadableStream({ start: (c) => c.error(err) }), { status: 200 });
      }
      return new Response("Internal Server Error", { status: 500 });
    }
  },
} satisfies ExportedHandler<SandboxEnv>;
