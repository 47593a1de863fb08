// The operators' console in a real browser: Debian's chromium driven by playwright-core, against
// `npm start` (scripts/start.mjs: the gateway and the sandbox portals on workerd through wrangler dev).
// Runs in Node (vitest project "e2e"); harness.mjs runs the start script from a temporary copy of the
// project, so it has its own ports, local state and development keys and never touches the developer's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext } from "playwright-core";
// @ts-expect-error plain ESM helper (Node APIs; the Worker's type-check has no Node types)
import { CHROMIUM, ensureResults, haveChromium, readText, removeDir, resultPath, startGateway, tempDir, waitFor } from "./harness.mjs";

const chromiumPresent: boolean = haveChromium();
if (!chromiumPresent) {
  const msg = `${CHROMIUM} is missing: install it (apt-get install -y chromium) to run the console's browser test`;
  if ((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.CI === "true") throw new Error(msg);
  console.warn(`[e2e] skipped: ${msg}`);
}

describe.skipIf(!chromiumPresent)("operators' console in a browser against npm start", () => {
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let started: { gateway: string; sandbox: string; adminKey: string; stop: () => Promise<{ survived: boolean; stillAlive: boolean }> };
  let gateway: string;
  let sandboxUrl: string;
  let adminKey: string;

  beforeAll(async () => {
    // A short delivery budget so a claim the portal keeps refusing is FAILED and dead-lettered fast.
    started = await startGateway({ DELIVERY_MAX_ATTEMPTS: "2", DELIVERY_BACKOFF_BASE_MS: "10", UPSTREAM_TIMEOUT_MS: "3000" });
    ({ gateway, sandbox: sandboxUrl, adminKey } = started);
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    if (profile) removeDir(profile);
    if (!started) return;
    const { stillAlive } = await started.stop();
    // npm start leaves nothing behind: no process of its group, and its port answers no more.
    expect(stillAlive).toBe(false);
    await expect(fetch(`${gateway}/healthz`)).rejects.toThrow();
  });

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gateway}${path}`, {
      method,
      headers: { "X-API-Key": adminKey, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
  };

  it("signs in, sees the overview, replays a dead letter and downloads the reconciliation CSV", async () => {
    ensureResults();
    // A claim that the Assam portal keeps refusing with 5xx: after DELIVERY_MAX_ATTEMPTS it is FAILED and dead-lettered.
    const faults = await fetch(`${sandboxUrl}/__sandbox/faults/assam`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ errorRate: 1, pathPattern: "submissions" }),
    });
    expect(faults.status).toBe(200);
    const client = await api("POST", "/v1/admin/clients", { name: "e2e claims", scopes: ["claims:write", "claims:read"] });
    expect(client.status).toBe(201);
    const claimId = crypto.randomUUID();
    const period = "2025-12";
    const submitted = await api(
      "POST",
      "/v1/claims",
      {
        claimId,
        ashaId: `AS-ASHA-${claimId.slice(0, 6)}`,
        period,
        verifiedBy: { employeeId: "34455", name: "ASHA Supervisor" },
        activities: [{ code: "HBNC_VISIT", count: 3, amount: 300 }],
      },
      { "X-API-Key": client.json.apiKey },
    );
    expect(submitted.status, submitted.text).toBe(202);
    const deadLetter = await waitFor(
      "the claim to be dead-lettered",
      async () => (await api("GET", `/v1/admin/dead-letters?subjectId=${claimId}`)).json.items[0],
      90_000,
      1000,
    );
    expect((await api("GET", `/v1/claims/${claimId}`)).json.status).toBe("FAILED");
    await fetch(`${sandboxUrl}/__sandbox/faults`, { method: "DELETE" });

    const { chromium } = await import("playwright-core");
    // A fresh profile directory (playwright takes it as launchPersistentContext's userDataDir).
    profile = tempDir("amrit-chromium-") as string;
    context = await chromium.launchPersistentContext(profile!, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());

    // Sign in.
    await page.goto(`${gateway}/console`);
    expect(await page.locator("form[action='/console/sign-in']").count()).toBe(1);
    await page.fill("input[name=key]", "wrong-key-wrong-key");
    await page.click("button[type=submit]");
    expect(await page.textContent("body")).toContain("Unknown or revoked key");
    await page.fill("input[name=key]", adminKey);
    await Promise.all([page.waitForURL(`${gateway}/console`), page.click("button[type=submit]")]);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "amrit_console")!;
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/console" });
    expect(session.value).not.toContain(adminKey);

    // Overview: the claims chart and the dead letter.
    expect((await page.locator("h1").textContent())?.trim()).toBe("Overview");
    expect(await page.locator("svg[role=img]").count()).toBeGreaterThan(0);
    expect(await page.locator("svg rect title").allTextContents()).toContain(`${period} FAILED: 1`);
    expect(await page.textContent("body")).toContain("Open dead letters");
    await page.screenshot({ path: resultPath("console-overview.png"), fullPage: true });

    // Phone-sized: the same page stays usable (no horizontal overflow of the page itself).
    await page.setViewportSize({ width: 390, height: 844 });
    // Evaluated in the page (a string: this file is type-checked without DOM types).
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(1);
    await page.screenshot({ path: resultPath("console-overview-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // Dead letters → inspect → confirm → replay.
    await page.click("nav a[href='/console/dead-letters']");
    await page.click(`a[href='/console/dead-letters/${encodeURIComponent(deadLetter.id)}']`);
    expect(await page.textContent("body")).toContain("Replaying may deliver the same work twice");
    await page.check("input[name=confirm]");
    await Promise.all([page.waitForLoadState("load"), page.click("button.danger")]);
    expect(await page.textContent("body")).toContain("Replayed: claim");
    await page.screenshot({ path: resultPath("console-replayed.png"), fullPage: true });
    const after = await api("GET", `/v1/admin/dead-letters/${encodeURIComponent(deadLetter.id)}`);
    expect(after.json.replayCount).toBe(1);
    const audit = await api("GET", `/v1/admin/audit?action=dead_letter.replay&targetId=${encodeURIComponent(deadLetter.id)}`);
    expect(audit.json.items).toHaveLength(1);
    // The portal is healthy again: the replayed claim is delivered with the same bytes.
    await waitFor("the replayed claim to be delivered", async () => ["PENDING", "ACCEPTED"].includes((await api("GET", `/v1/claims/${claimId}`)).json.status), 60_000, 1000);

    // Reconciliation page and its CSV download.
    await page.goto(`${gateway}/console/reconciliation?period=${period}`);
    expect((await page.locator("h1").textContent())?.trim()).toBe(`Claims reconciliation ${period}`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Download CSV")]);
    const csvPath = resultPath(`claims-${period}.csv`);
    await download.saveAs(csvPath);
    const csv = readText(csvPath);
    expect(csv.split(/\r\n/)[0]).toBe("period,status,count,total_amount");
    expect(csv).toMatch(new RegExp(`^${period},TOTAL,[1-9]\\d*,`, "m"));
    await page.screenshot({ path: resultPath("console-reconciliation.png"), fullPage: true });

    // Sign out ends the session.
    await Promise.all([page.waitForURL(/\/console\?signedOut=1$/), page.click("header button")]);
    await page.goto(`${gateway}/console/audit`);
    expect(await page.locator("form[action='/console/sign-in']").count()).toBe(1);
  });
});
