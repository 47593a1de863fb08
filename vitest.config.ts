import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { unstable_readConfig } from "wrangler";
import SummaryLineReporter from "./test/reporters/summary-line";
import { createSandbox } from "./src/sandbox";
// @ts-expect-error plain ESM helper shared with scripts/start.mjs
import { generateDevKeys } from "./scripts/dev-keys.mjs";

export const GATEWAY_URL = "http://gateway.test";
export const SANDBOX_URL = "http://sandbox.test";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  const keys = generateDevKeys({ gatewayUrl: GATEWAY_URL, sandboxUrl: SANDBOX_URL });
  // The queues as wrangler.jsonc declares them, but handed out at once (no 1 s batch timeout per hop).
  const queueConsumers = Object.fromEntries(
    (unstable_readConfig({ config: "./wrangler.jsonc" }).queues.consumers ?? []).map(
      (q: { queue: string; max_batch_size?: number; max_retries?: number; dead_letter_queue?: string }) => [
        q.queue,
        { maxBatchSize: q.max_batch_size, maxBatchTimeout: 0, maxRetries: q.max_retries, deadLetterQueue: q.dead_letter_queue },
      ],
    ),
  );

  // The sandbox portals run here, in Node; every outbound fetch of the Worker under test reaches
  // them through miniflare's outboundService. Nothing goes to the network.
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

  // The Worker's structured JSON log lines are asserted through console spies where they matter;
  // in the runner's output they would only bury failures.
  const onConsoleLog = (log: string) => (log.trimStart().startsWith('{"level":') ? false : undefined);

  const workers = {
    plugins: [
      cloudflareTest({
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
            TEST_SANDBOX_URL: SANDBOX_URL,
            TEST_GATEWAY_URL: GATEWAY_URL,
            TEST_IFIX_SANDBOX_KEY: keys.sandbox.ifixPrivatePem,
            TEST_IFIX_SANDBOX_SENDER: keys.sandbox.ifixSenderId,
          },
          queueConsumers,
          // A DroppedConnection thrown by the sandbox reaches the Worker as a network error.
          outboundService: async (request: Request) => {
            const url = new URL(request.url);
            if (url.origin !== SANDBOX_URL) return new Response(`no network in tests: ${url.origin}`, { status: 599 });
            return sandbox.fetch(request);
          },
        },
      }),
    ],
    test: {
      name: "workers",
      include: ["test/**/*.test.ts"],
      exclude: ["test/e2e/**", "**/node_modules/**"],
      setupFiles: ["./test/setup.ts"],
      // The sandbox portals are shared by every test file (they run in this Node process):
      // files run one after another so one file's injected faults never reach another's.
      fileParallelism: false,
      // One workerd for every file instead of a new one per file (about 45 s of start-up and
      // transforms saved on 2 cores). Files then share storage and the Worker's module state, so
      // every test asserts on rows of its own (ids, periods, tenants it made), never on a table
      // being otherwise empty, and leaves the shared sandbox portals as it found them.
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
