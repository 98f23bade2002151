// Go-style duration strings (time.ParseDuration): "10s", "1m30s", "500ms", "1.5h", "-2s", "0".
// Units: ns, us (µs, μs), ms, s, m, h, and for time windows also d and w (as Prometheus writes
// them). Several number+unit parts may follow each other.

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Prometheus's longer units, accepted where a duration is a time window (an SLO's). */
const DAY_UNITS_NS: Record<string, bigint> = { d: 86_400_000_000_000n, w: 604_800_000_000_000n };

const MAX_NS = (1n << 63n) - 1n; // Go's time.Duration is an int64 of nanoseconds

export class DurationError extends Error {}

/**
 * Parses a Go duration string into milliseconds (fractional for sub-millisecond parts:
 * "1ns" → 0.000001); `days` also accepts d and w. Throws DurationError with a readable reason.
 */
export function parseDuration(text: string, days = false): number {
  const quoted = JSON.stringify(text);
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationError(`invalid duration ${quoted}`);

  const units = days ? 'ns, us, ms, s, m, h, d, w' : 'ns, us, ms, s, m, h';
  let totalNs = 0n;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]*)/;
  while (s !== '') {
    const m = part.exec(s);
    const whole = m?.[1] ?? '';
    const frac = m?.[2];
    const unit = m?.[3] ?? '';
    if (!m || (whole === '' && (frac === undefined || frac === ''))) {
      throw new DurationError(`invalid duration ${quoted}`);
    }
    if (unit === '') {
      throw new DurationError(`invalid duration ${quoted} (missing unit: ${units})`);
    }
    const unitNs = UNIT_NS[unit] ?? (days ? DAY_UNITS_NS[unit] : undefined);
    if (unitNs === undefined) {
      throw new DurationError(`invalid duration ${quoted} (unknown unit "${unit}": use ${units})`);
    }
    let ns = BigInt(whole === '' ? '0' : whole) * unitNs;
    if (frac) {
      ns += (BigInt(frac) * unitNs) / 10n ** BigInt(frac.length); // truncates below 1 ns, as Go does
    }
    totalNs += ns;
    if (totalNs > MAX_NS) throw new DurationError(`invalid duration ${quoted} (too large)`);
    s = s.slice(m[0].length);
  }
  const ms = Number(totalNs) / 1e6;
  return negative ? -ms : ms;
}

/** Formats milliseconds the way Go prints a time.Duration ("1m30s", "500ms", "10s"). For docs and logs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let ns = BigInt(Math.round(Math.abs(ms) * 1e6));
  if (ns < 1_000_000_000n) {
    if (ns % 1_000_000n === 0n) return `${sign}${ns / 1_000_000n}ms`;
    if (ns % 1_000n === 0n) return `${sign}${ns / 1_000n}µs`;
    return `${sign}${ns}ns`;
  }
  const h = ns / UNIT_NS.h!;
  ns -= h * UNIT_NS.h!;
  const m = ns / UNIT_NS.m!;
  ns -= m * UNIT_NS.m!;
  const secs = Number(ns) / 1e9;
  let out = sign;
  if (h > 0n) out += `${h}h`;
  if (h > 0n || m > 0n) out += `${m}m`;
  out += `${secs}s`;
  return out;
}
