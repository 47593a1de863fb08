import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/**
 * Paces requests toward one upstream across every isolate and consumer: one instance per upstream
 * (idFromName("assam")). A slot scheduler over a sliding window: a new slot goes no earlier than the
 * slot `maxRps` places back plus the window, so no window of that length ever holds more than
 * `maxRps` sends. The window is one second plus a margin, so that the jitter between a slot and the
 * request's arrival at the portal cannot squeeze `maxRps + 1` arrivals into one second.
 *
 * State is in memory: input gates serialise `acquire` calls (no awaits inside), and slots lie at
 * most a few seconds ahead, so an eviction (which only happens when idle) loses nothing that matters.
 */
export const PACE_WINDOW_MS = 1_000;
export const PACE_MARGIN_MS = 100;

export interface PaceAnswer {
  granted: boolean;
  waitMs: number;
}

/** The scheduling rule, free of the Durable Object so it can be tested alone. */
export class SlotSchedule {
  private slots: number[] = [];
  constructor(private readonly windowMs = PACE_WINDOW_MS + PACE_MARGIN_MS) {}

  acquire(maxRps: number, maxWaitMs: number, now: number): PaceAnswer {
    const rps = Math.max(1, Math.floor(maxRps));
    // Slots older than a window no longer constrain anything.
    let drop = 0;
    while (drop < this.slots.length && this.slots[drop] <= now - this.windowMs) drop++;
    if (drop) this.slots.splice(0, drop);
    const n = this.slots.length;
    let at = n ? Math.max(now, this.slots[n - 1]) : now;
    if (n >= rps) at = Math.max(at, this.slots[n - rps] + this.windowMs);
    const waitMs = at - now;
    if (waitMs > maxWaitMs) return { granted: false, waitMs };
    this.slots.push(at);
    if (this.slots.length > 10_000) this.slots.splice(0, this.slots.length - 10_000);
    return { granted: true, waitMs };
  }
}

export class RatePacer extends DurableObject<Env> {
  private schedule = new SlotSchedule();

  /** Reserves the next send slot at `maxRps`; answers how long to wait, or `granted: false` when over `maxWaitMs`. */
  async acquire(maxRps: number, maxWaitMs: number): Promise<PaceAnswer> {
    return this.schedule.acquire(maxRps, maxWaitMs, Date.now());
  }
}
