import { redact } from "./redact";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

/** One JSON object per line, redacted before it is written. Workers Logs indexes the fields. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function createLogger(base: LogFields = {}): Logger {
  const write = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    const line = JSON.stringify(redact({ level, msg, time: new Date().toISOString(), ...base, ...fields }));
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

/** Describes an unknown thrown value for a log line without its stack or message contents. */
export function errorKind(err: unknown): string {
  if (err instanceof Error) return err.name;
  return typeof err;
}
