// Warnings about clients turned away or cut, at most once an interval per kind: an attack or a
// misbehaving sender repeats them thousands of times a second, and the counters keep the count.
import type { Logger } from '../log.js';

/** How often one kind of refusal is logged at most. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** A warn() that logs each `kind` at most once per interval (and says so in the message). */
export function warnEvery(log: Logger, intervalMs = REFUSAL_LOG_INTERVAL_MS): (kind: string, detail: Record<string, unknown>, message: string) => void {
  const last = new Map<string, number>();
  return (kind, detail, message) => {
    const now = Date.now();
    if (now - (last.get(kind) ?? -Infinity) < intervalMs) return;
    last.set(kind, now);
    log.warn(detail, `${message}; logged at most once every ${Math.round(intervalMs / 1000)} s`);
  };
}
