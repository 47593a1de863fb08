import type { MiddlewareHandler } from "hono";

/**
 * Fault injection for the sandbox portals, settable per run: through `PUT /__sandbox/faults/<portal>`
 * at run time, or SANDBOX_FAULTS (JSON: { "<portal>": Faults }) at start-up.
 * Rates are probabilities from 0 to 1, drawn from a seeded generator so a run can be repeated.
 */
export interface Faults {
  /** Share of requests answered 500/502/503. */
  errorRate: number;
  /** Share of requests answered 429 with Retry-After. */
  rate429: number;
  retryAfterSeconds: number;
  /** Share of requests whose connection is dropped (the caller sees a network error). */
  dropRate: number;
  /** Share of requests delayed by `slowMs` (to drive the caller's timeout). */
  slowRate: number;
  slowMs: number;
  /** Fixed extra latency on every request. */
  latencyMs: number;
  /** Only paths matching this regular expression are affected (default: all). */
  pathPattern?: string;
  seed: number;
}

export const NO_FAULTS: Faults = {
  errorRate: 0,
  rate429: 0,
  retryAfterSeconds: 1,
  dropRate: 0,
  slowRate: 0,
  slowMs: 0,
  latencyMs: 0,
  seed: 1,
};

/** mulberry32: small, seedable, good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultController {
  private faults: Faults = { ...NO_FAULTS };
  private random = seededRandom(NO_FAULTS.seed);
  readonly injected = { error: 0, rate429: 0, drop: 0, slow: 0 };

  set(partial: Partial<Faults>) {
    this.faults = { ...NO_FAULTS, ...partial };
    this.random = seededRandom(this.faults.seed);
  }
  reset() {
    this.set({});
    this.injected.error = this.injected.rate429 = this.injected.drop = this.injected.slow = 0;
  }
  get current(): Faults {
    return this.faults;
  }

  /** Hono middleware applying the current faults before the portal's own handler. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const f = this.faults;
      if (f.pathPattern && !new RegExp(f.pathPattern).test(new URL(c.req.url).pathname)) return next();
      if (f.latencyMs > 0) await sleep(f.latencyMs);
      const r = this.random();
      let edge = f.dropRate;
      if (r < edge) {
        this.injected.drop++;
        throw new DroppedConnection();
      }
      edge += f.rate429;
      if (r < edge) {
        this.injected.rate429++;
        return c.json({ error: "rate limited" }, 429, { "Retry-After": String(f.retryAfterSeconds) });
      }
      edge += f.errorRate;
      if (r < edge) {
        this.injected.error++;
        const statuses = [500, 502, 503] as const;
        return c.text("Internal Server Error", statuses[Math.floor(this.random() * statuses.length)]);
      }
      edge += f.slowRate;
      if (r < edge) {
        this.injected.slow++;
        await sleep(f.slowMs);
      }
      return next();
    };
  }
}

/** Thrown to simulate a dropped connection; the sandbox host turns it into a network error. */
export class DroppedConnection extends Error {
  constructor() {
    super("connection dropped by sandbox fault injection");
    this.name = "DroppedConnection";
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
