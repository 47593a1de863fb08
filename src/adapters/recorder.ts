/**
 * What an adapter reports about each call it makes to a portal. Adapters translate and call; they
 * do not write storage: their caller hands them a recorder (in the gateway, one that writes the
 * transaction log, usually after the response; in tests, an array).
 */
export interface UpstreamCallReport {
  portal: "assam" | "umang" | "ifix" | "webhook";
  operation: string;
  subjectId?: string | null;
  requestId?: string | null;
  tracker?: string | null;
  attempt?: number;
  outcome: "ok" | "rejected" | "retry" | "failed" | "timeout" | "network";
  httpStatus?: number | null;
  durationMs: number;
  errorCode?: string | null;
  /** Redacted before it is kept; never given for UMANG (no health data is stored). */
  requestBody?: unknown;
  responseBody?: unknown;
}

/** Receives reports; must not throw (the log must never break the call it logs). */
export type UpstreamCallRecorder = (report: UpstreamCallReport) => void | Promise<void>;

/** A recorder that drops everything. */
export const noRecorder: UpstreamCallRecorder = () => undefined;
