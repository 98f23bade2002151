// Structured logs: one JSON object per line on stdout (pino), level as a name ("info"),
// ISO-8601 time, so Loki / Elasticsearch / Cloud Logging pick the fields up as they are.
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config/types.js';

/** The subset of a pino logger the servers, exporters and the core use (structural, so any logger fits). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** Whether lines at `level` are written (pino's); a logger without it writes every level. */
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => {};
/** A logger that drops everything (the default when none is given). */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, isLevelEnabled: () => false };

/**
 * The process logger. `destination` defaults to stdout, written synchronously so that nothing
 * is lost when the process exits right after logging (logs are low volume: no per-span lines).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): PinoLogger {
  return pino(
    {
      level,
      name: 'spanmeter',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
