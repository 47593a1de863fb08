import { env } from "cloudflare:workers";
import type { Faults } from "../../src/sandbox/faults";

/** Talks to the sandbox portals (running in the test runner's Node process) through outbound fetch. */
export async function sandbox(method: string, path: string, body?: unknown) {
  const res = await fetch(`${env.TEST_SANDBOX_URL}${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

export const setFaults = (portal: "assam" | "umang" | "ifix", faults: Partial<Faults>) => sandbox("PUT", `/__sandbox/faults/${portal}`, faults);
export const clearFaults = () => sandbox("DELETE", "/__sandbox/faults");
