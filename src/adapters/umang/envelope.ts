import type { UmangConfig } from "./config";

/**
 * The UMANG envelope every op body starts with (seed 001), and the headers every call carries.
 * `subsid`, `subsid2` and `formtrkr` are "0" throughout the seed; `did` (device id) is null for a server.
 */
export interface UmangEnvelope {
  tkn: string;
  trkr: string;
  usrid: string;
  srvid: string;
  mode: string;
  pltfrm: string;
  did: null;
  deptid: string;
  subsid: string;
  subsid2: string;
  formtrkr: string;
}

export const ENVELOPE_FIELDS = ["tkn", "trkr", "usrid", "srvid", "mode", "pltfrm", "did", "deptid", "subsid", "subsid2", "formtrkr"] as const;

let last = 0n;

/**
 * A tracker unique per call: milliseconds since the epoch followed by six random digits — 19 digits,
 * numeric like the seed's "213132" and within a signed 64-bit integer in case UMANG stores it as one.
 * Strictly increasing within an isolate; across isolates a clash needs the same millisecond and the
 * same six random digits. Logged with the request id to join both sides' logs.
 */
export function newTracker(now = Date.now()): string {
  const rnd = new Uint32Array(1);
  crypto.getRandomValues(rnd);
  let t = BigInt(now) * 1_000_000n + BigInt(rnd[0] % 1_000_000);
  if (t <= last) t = last + 1n;
  last = t;
  return t.toString();
}

export function buildEnvelope(cfg: UmangConfig, trkr: string): UmangEnvelope {
  return {
    tkn: cfg.UMANG_TKN,
    trkr,
    usrid: cfg.UMANG_USER_ID,
    srvid: cfg.UMANG_SERVICE_ID,
    mode: cfg.UMANG_MODE,
    pltfrm: cfg.UMANG_PLATFORM,
    did: null,
    deptid: cfg.UMANG_DEPT_ID,
    subsid: "0",
    subsid2: "0",
    formtrkr: "0",
  };
}

export function buildHeaders(cfg: UmangConfig): Record<string, string> {
  return {
    Authorization: `Bearer ${cfg.UMANG_API_TOKEN}`,
    deptid: cfg.UMANG_DEPT_ID,
    srvid: cfg.UMANG_SERVICE_ID,
    subsid: "0",
    subsid2: "0",
    formtrkr: "0",
    "Content-Type": "application/json",
    Accept: "application/json",
  };
}
