// The operators' console in a real browser: Debian's chromium driven by playwright-core, against
// `npm start` (scripts/start.mjs: the gateway and the sandbox portals on workerd through wrangler dev).
// Runs in Node (vitest project "e2e"); harness.mjs runs the start script from a temporary copy of the
// project, so it has its own ports, local state and development keys and never touches the developer's.
// People sign in through the local Cloudflare Access stand-in that `npm start` configures.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
// @ts-expect-error plain ESM helper (Node APIs; the Worker's type-check has no Node types)
import { CHROMIUM, ensureResults, haveChromium, readText, removeDir, resultPath, startGateway, tempDir, waitFor } from "./harness.mjs";

const chromiumPresent: boolean = haveChromium();
if (!chromiumPresent) {
  const msg = `${CHROMIUM} is missing: install it (apt-get install -y chromium) to run the console's browser test`;
  if ((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.CI === "true") throw new Error(msg);
  console.warn(`[e2e] skipped: ${msg}`);
}

interface Started {
  gateway: string;
  sandbox: string;
  adminKey: string;
  access: { team: string; aud: string; roles: Record<string, string> };
  stop: () => Promise<{ survived: boolean; stillAlive: boolean }>;
}

describe.skipIf(!chromiumPresent)("operators' console in a browser against npm start", () => {
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let started: Started;
  let gateway: string;

  beforeAll(async () => {
    // A short delivery budget so a claim the portal keeps refusing is FAILED and dead-lettered fast.
    started = await startGateway({ DELIVERY_MAX_ATTEMPTS: "2", DELIVERY_BACKOFF_BASE_MS: "10", UPSTREAM_TIMEOUT_MS: "3000" });
    gateway = started.gateway;
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
      headers: { "X-API-Key": started.adminKey, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
  };

  const emailFor = (role: string) => Object.entries(started.access.roles).find(([, r]) => r === role)![0];

  /** Through the console's sign-in page to the Access stand-in, as a person, and back. */
  async function signInAs(page: Page, role: "viewer" | "operator" | "admin") {
    const email = emailFor(role);
    await page.goto(`${gateway}/console`);
    expect(await page.locator("h1").textContent()).toContain("AMRIT gateway console");
    await Promise.all([page.waitForURL(/\/access\/cdn-cgi\/access\/login/), page.click("text=Sign in with Cloudflare Access")]);
    await Promise.all([page.waitForURL(`${gateway}/console`), page.click(`button[value='${email}']`)]);
    expect(await page.textContent("header .who")).toContain(email);
    expect(await page.textContent("header .role")).toBe(role);
    const access = (await page.context().cookies()).find((c) => c.name === "CF_Authorization")!;
    expect(access).toMatchObject({ httpOnly: true, path: "/" });
    return email;
  }

  async function signOut(page: Page) {
    await Promise.all([page.waitForURL(/\/access\/cdn-cgi\/access\/logout/), page.click("header button")]);
    expect(await page.textContent("h1")).toBe("Signed out");
    expect((await page.context().cookies()).find((c) => c.name === "CF_Authorization")).toBeUndefined();
  }

  it("people sign in through the Access stand-in by role: find a claim, replay as an operator, refused as a viewer, rotate a client as an admin", async () => {
    ensureResults();
    // A claim that the Assam portal keeps refusing with 5xx: after DELIVERY_MAX_ATTEMPTS it is FAILED and dead-lettered.
    const faults = await fetch(`${started.sandbox}/__sandbox/faults/assam`, {
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
    await fetch(`${started.sandbox}/__sandbox/faults`, { method: "DELETE" });
    const dlPath = `/console/dead-letters/${encodeURIComponent(deadLetter.id)}`;

    const { chromium } = await import("playwright-core");
    // A fresh profile directory (playwright takes it as launchPersistentContext's userDataDir).
    profile = tempDir("amrit-chromium-") as string;
    context = await chromium.launchPersistentContext(profile!, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());

    // ── A viewer: the sign-in page offers Access (and the break-glass key only folded away).
    await page.goto(`${gateway}/console`);
    expect(await page.locator("a", { hasText: "Sign in with Cloudflare Access" }).count()).toBe(1);
    expect(await page.locator("details summary").textContent()).toContain("Break-glass");
    await page.screenshot({ path: resultPath("console-sign-in.png"), fullPage: true });
    await page.goto(`${gateway}/console`);
    await page.click("text=Sign in with Cloudflare Access");
    await page.waitForURL(/\/access\/cdn-cgi\/access\/login/);
    await page.screenshot({ path: resultPath("console-access-stand-in.png"), fullPage: true });
    await signInAs(page, "viewer");
    expect((await page.locator("h1").textContent())?.trim()).toBe("Overview");
    expect(await page.locator("svg rect title").allTextContents()).toContain(`${period} FAILED: 1`);
    await page.screenshot({ path: resultPath("console-overview-viewer.png"), fullPage: true });

    // Phone-sized: the same page stays usable (no horizontal overflow of the page itself).
    await page.setViewportSize({ width: 390, height: 844 });
    // Evaluated in the page (a string: this file is type-checked without DOM types).
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(1);
    await page.screenshot({ path: resultPath("console-overview-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // Find the claim by its id from the header's search box.
    await page.fill("header input[name=q]", claimId);
    await Promise.all([page.waitForURL(`${gateway}/console/claims/${claimId}`), page.press("header input[name=q]", "Enter")]);
    expect(await page.textContent("h1")).toBe(`Claim ${claimId}`);
    expect(await page.textContent("main")).toContain("Wire body SHA-256");
    expect(await page.locator(`form[action='/console/claims/${claimId}/replay']`).count()).toBe(0);
    await page.screenshot({ path: resultPath("console-claim-viewer.png"), fullPage: true });

    // The viewer sees the dead letter but no replay form, and a replay post is refused with 403.
    await page.goto(`${gateway}${dlPath}`);
    expect(await page.locator("form[action$='/replay']").count()).toBe(0);
    expect(await page.textContent("main")).toContain("Your role (viewer) can read this but not change it");
    const csrf = (await page.getAttribute("header input[name=_csrf]", "value"))!;
    const refused = await context.request.post(`${gateway}${dlPath}/replay`, { form: { _csrf: csrf, confirm: "yes" }, maxRedirects: 0 });
    expect(refused.status()).toBe(403);
    await page.setContent(await refused.text());
    await page.screenshot({ path: resultPath("console-viewer-refused.png"), fullPage: true });
    expect((await api("GET", `/v1/admin/dead-letters/${encodeURIComponent(deadLetter.id)}`)).json.replayCount).toBe(0);
    await page.goto(`${gateway}/console`);
    await signOut(page);
    // Signed out on the server too: the console no longer takes that session.
    await page.goto(`${gateway}/console/audit`);
    expect(page.url()).toBe(`${gateway}/console`);

    // ── An operator replays the dead letter.
    const operator = await signInAs(page, "operator");
    await page.goto(`${gateway}${dlPath}`);
    expect(await page.textContent("body")).toContain("Replaying may deliver the same work twice");
    await page.check("input[name=confirm]");
    await Promise.all([page.waitForLoadState("load"), page.click("button.danger")]);
    expect(await page.textContent("body")).toContain("Replayed: claim");
    await page.screenshot({ path: resultPath("console-replayed-operator.png"), fullPage: true });
    const audit = await api("GET", `/v1/admin/audit?action=dead_letter.replay&targetId=${encodeURIComponent(deadLetter.id)}`);
    expect(audit.json.items).toHaveLength(1);
    expect(audit.json.items[0].actor).toBe(operator);
    // The portal is healthy again: the replayed claim is delivered with the same bytes.
    await waitFor(
      "the replayed claim to be delivered",
      async () => ["PENDING", "ACCEPTED"].includes((await api("GET", `/v1/claims/${claimId}`)).json.status),
      60_000,
      1000,
    );
    // An operator manages no clients.
    await page.goto(`${gateway}/console/clients`);
    expect(await page.locator("form[action$='/rotate']").count()).toBe(0);

    // Reconciliation page and its CSV download.
    await page.goto(`${gateway}/console/reconciliation?period=${period}`);
    expect((await page.locator("h1").textContent())?.trim()).toBe(`Claims reconciliation ${period}`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Download CSV")]);
    const csvPath = resultPath(`claims-${period}.csv`);
    await download.saveAs(csvPath);
    const csv = readText(csvPath);
    expect(csv.split(/\r\n/)[0]).toBe("period,status,count,total_amount");
    expect(csv).toMatch(new RegExp(`^${period},TOTAL,[1-9]\\d*,`, "m"));
    await page.goto(`${gateway}/console/backlogs`);
    await page.screenshot({ path: resultPath("console-backlogs.png"), fullPage: true });
    await signOut(page);

    // ── An admin rotates the client; the new secret is shown once.
    const admin = await signInAs(page, "admin");
    await page.goto(`${gateway}/console/clients`);
    const row = page.locator(`#client-${client.json.clientId}`);
    await row.locator("summary").click();
    await Promise.all([page.waitForLoadState("load"), row.locator("form[action$='/rotate'] button").click()]);
    expect(await page.textContent("body")).toContain("Copy these now: they are shown once.");
    const newKey = (await page.locator(".secret").nth(1).textContent())!;
    expect(newKey).toMatch(/^ak_/);
    await page.screenshot({ path: resultPath("console-client-rotated-admin.png"), fullPage: true });
    expect((await api("GET", "/v1/claims?limit=1", undefined, { "X-API-Key": client.json.apiKey })).status).toBe(401);
    expect((await api("GET", "/v1/claims?limit=1", undefined, { "X-API-Key": newKey })).status).toBe(200);
    const rotated = await api("GET", `/v1/admin/audit?action=client.rotated&targetId=${client.json.clientId}`);
    expect(rotated.json.items[0].actor).toBe(admin);
    await page.goto(`${gateway}/console/configuration`);
    expect(await page.textContent("main")).toContain("Cloudflare Access (console)");
    await page.screenshot({ path: resultPath("console-configuration.png"), fullPage: true });
    await signOut(page);

    // ── Break-glass: the admin key still signs in, and raises an alert.
    await page.goto(`${gateway}/console`);
    await page.click("details summary");
    await page.fill("input[name=key]", started.adminKey);
    await Promise.all([page.waitForURL(`${gateway}/console`), page.click("details button[type=submit]")]);
    expect(await page.textContent("header .who")).toContain("admin key");
    const session = (await context.cookies()).find((c) => c.name === "amrit_console")!;
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/console" });
    expect(session.value).not.toContain(started.adminKey);
    await waitFor(
      "the break-glass alert",
      async () => (await api("GET", "/v1/admin/alerts")).json.items.some((a: { kind: string }) => a.kind === "break_glass_sign_in"),
      15_000,
      500,
    );
    await Promise.all([page.waitForURL(/\/console\?signedOut=1$/), page.click("header button")]);
    await page.goto(`${gateway}/console/audit`);
    expect(await page.locator("form[action='/console/sign-in']").count()).toBe(1);
  });
});
