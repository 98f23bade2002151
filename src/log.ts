// Structured logs: one JSON object per line on stdout (pino), level as a name ("info"),
// ISO-8601 time, so Loki / Elasticsearch / Cloud Logging pick the fields up as they are.
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config/types.js';

export type Logger = PinoLogger;

/**
 * The process logger. `destination` defaults to stdout, written synchronously so that nothing
 * is lost when the process exits right after logging (logs are low volume: no per-span lines).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
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
