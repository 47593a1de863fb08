import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/**
 * Paces requests toward one upstream across every isolate and consumer: one instance per upstream
 * (idFromName("assam")). A slot scheduler over a sliding window: a new slot goes no earlier than the
 * slot `maxRps` places back plus the window, so no window of that length ever holds more than
 * `maxRps` sends. The window is one second plus a margin, so that the jitter between a slot and the
 * request's arrival at the portal cannot squeeze `maxRps + 1` arrivals into one second.
 *
 * An upstream's rate may be split into lanes (deliveries, polls), each with its own schedule: lanes
 * whose rates add up to the upstream's limit never exceed it together. A lane may borrow another's
 * slot when that slot is free at once, so an idle lane's share is not wasted while a busy lane never
 * waits more than one window for what was borrowed from it.
 *
 * State is in memory: input gates serialise calls (no awaits inside), and slots lie at most a few
 * seconds ahead, so an eviction (which only happens when idle) loses nothing that matters.
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

  /** When the next slot would be, without taking it (ms from `now`). */
  peek(maxRps: number, now: number): number {
    const rps = Math.max(1, Math.floor(maxRps));
    let drop = 0;
    // Slots older than a window no longer constrain anything.
    while (drop < this.slots.length && this.slots[drop] <= now - this.windowMs) drop++;
    if (drop) this.slots.splice(0, drop);
    const n = this.slots.length;
    let at = n ? Math.max(now, this.slots[n - 1]) : now;
    if (n >= rps) at = Math.max(at, this.slots[n - rps] + this.windowMs);
    return at - now;
  }

  acquire(maxRps: number, maxWaitMs: number, now: number): PaceAnswer {
    const waitMs = this.peek(maxRps, now);
    if (waitMs > maxWaitMs) return { granted: false, waitMs };
    this.slots.push(now + waitMs);
    if (this.slots.length > 10_000) this.slots.splice(0, this.slots.length - 10_000);
    return { granted: true, waitMs };
  }
}

export interface SlotRequest {
  lane: string;
  rps: number;
  /** How many slots the caller wants (one per request it is about to send). */
  n: number;
  /** The longest the caller will wait for a slot; slots further out are not reserved. */
  maxWaitMs: number;
  /** A lane whose slots may be taken when free at once (its owner's share is idle). */
  borrow?: { lane: string; rps: number };
}

export interface SlotGrant {
  /** One wait (ms from now) per reserved slot, in order: the caller sends its i-th request after waits[i]. */
  waits: number[];
  /** When fewer than `n` were reserved: how long until the next slot would be free. */
  nextWaitMs: number | null;
}

/** The lanes of one upstream, free of the Durable Object so they can be tested alone. */
export class PaceLanes {
  private lanes = new Map<string, SlotSchedule>();

  private lane(name: string): SlotSchedule {
    let s = this.lanes.get(name);
    if (!s) this.lanes.set(name, (s = new SlotSchedule()));
    return s;
  }

  reserve(req: SlotRequest, now: number): SlotGrant {
    const own = this.lane(req.lane);
    const other = req.borrow ? this.lane(req.borrow.lane) : null;
    const waits: number[] = [];
    for (let i = 0; i < Math.min(req.n, 10_000); i++) {
      if (other && req.borrow && other.peek(req.borrow.rps, now) === 0) {
        other.acquire(req.borrow.rps, 0, now);
        waits.push(0);
        continue;
      }
      const a = own.acquire(req.rps, req.maxWaitMs, now);
      if (!a.granted) return { waits, nextWaitMs: a.waitMs };
      waits.push(a.waitMs);
    }
    return { waits, nextWaitMs: null };
  }
}

export class RatePacer extends DurableObject<Env> {
  private lanes = new PaceLanes();

  /** Reserves up to `n` send slots in one call (a consumer asks once per batch). */
  async reserve(req: SlotRequest): Promise<SlotGrant> {
    return this.lanes.reserve(req, Date.now());
  }
}
