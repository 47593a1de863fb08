import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { unstable_readConfig } from "wrangler";
import SummaryLineReporter from "./test/reporters/summary-line";
import { createSandbox } from "./src/sandbox";
// @ts-expect-error plain ESM helper shared with scripts/start.mjs
import { generateDevKeys } from "./scripts/dev-keys.mjs";

export const GATEWAY_URL = "http://gateway.test";
/** Test workers side by side (TEST_WORKERS overrides; 1 runs every file in one runtime, one after another). */
const WORKERS = Math.max(1, Number(process.env.TEST_WORKERS ?? 2) || 2);

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  // The queues as wrangler.jsonc declares them, but handed out at once (no 1 s batch timeout per hop).
  const queueConsumers = Object.fromEntries(
    (unstable_readConfig({ config: "./wrangler.jsonc" }).queues.consumers ?? []).map(
      (q: { queue: string; max_batch_size?: number; max_retries?: number; dead_letter_queue?: string }) => [
        q.queue,
        { maxBatchSize: q.max_batch_size, maxBatchTimeout: 0, maxRetries: q.max_retries, deadLetterQueue: q.dead_letter_queue },
      ],
    ),
  );

  // The Worker's structured JSON log lines are asserted through console spies where they matter;
  // in the runner's output they would only bury failures.
  const onConsoleLog = (log: string) => (log.trimStart().startsWith('{"level":') ? false : undefined);

  /**
   * One runtime per test worker (vitest starts WORKERS of them, each running files one after
   * another), each with its own storage (miniflare's, in memory) and its own sandbox portals, here
   * in Node, at its own address: one file's injected faults or portal settings never reach a file
   * running beside it. Every outbound fetch of that runtime reaches its sandbox through miniflare's
   * outboundService; nothing goes to the network.
   */
  let started = 0;
  const workerOptions = () => {
    const sandboxUrl = `http://sandbox-${++started}.test`;
    const keys = generateDevKeys({ gatewayUrl: GATEWAY_URL, sandboxUrl });
    const sandbox = createSandbox({
      assam: { clientId: keys.gateway.ASSAM_CLIENT_ID, clientSecret: keys.gateway.ASSAM_CLIENT_SECRET },
      umang: {
        apiToken: keys.gateway.UMANG_API_TOKEN,
        clientId: keys.gateway.UMANG_CLIENT_ID,
        clientSecret: keys.gateway.UMANG_CLIENT_SECRET,
      },
      ifix: {
        senderId: keys.sandbox.ifixSenderId,
        privateKeyPem: keys.sandbox.ifixPrivatePem,
        trustedKeys: { [keys.sandbox.gatewaySenderId]: [keys.sandbox.gatewayPublicPem] },
      },
    });
    return {
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: {
          ...keys.gateway,
          ENVIRONMENT: "test",
          UPSTREAM_TIMEOUT_MS: "2000",
          DELIVERY_BACKOFF_BASE_MS: "10",
          // Pacing is not what most tests are about (test/claims/pace.test.ts sets its own low rate).
          ASSAM_MAX_RPS: "1000",
          TEST_MIGRATIONS: migrations,
          TEST_SANDBOX_URL: sandboxUrl,
          TEST_GATEWAY_URL: GATEWAY_URL,
          TEST_IFIX_SANDBOX_KEY: keys.sandbox.ifixPrivatePem,
          TEST_IFIX_SANDBOX_SENDER: keys.sandbox.ifixSenderId,
        },
        queueConsumers,
        // A DroppedConnection thrown by the sandbox reaches the Worker as a network error.
        outboundService: async (request: Request) => {
          const url = new URL(request.url);
          if (url.origin !== sandboxUrl) return new Response(`no network in tests: ${url.origin}`, { status: 599 });
          return sandbox.fetch(request);
        },
      },
    };
  };

  const workers = {
    plugins: [cloudflareTest(workerOptions)],
    test: {
      name: "workers",
      include: ["test/**/*.test.ts"],
      exclude: ["test/e2e/**", "**/node_modules/**"],
      setupFiles: ["./test/setup.ts"],
      // Two files at a time (one per worker above; 2 cores here), each worker running its files
      // one after another in one runtime (isolate: false; about 45 s of start-up and transforms
      // saved against a runtime per file). Files in one worker share its storage and the Worker's
      // module state, so every test asserts on rows of its own (ids, periods, tenants it made),
      // never on a table being otherwise empty, and leaves its sandbox portals as it found them.
      maxWorkers: WORKERS,
      isolate: false,
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };

  // The console's browser test runs in Node against `npm start`, after the workers project.
  const e2e = {
    test: {
      name: "e2e",
      include: ["test/e2e/**/*.test.ts"],
      environment: "node",
      testTimeout: 180_000,
      hookTimeout: 180_000,
      sequence: { groupOrder: 1 },
    },
  };

  return { test: { onConsoleLog, reporters: ["default", new SummaryLineReporter()], projects: [workers, e2e] } };
});
