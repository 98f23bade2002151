// The kinds of value a config key holds (integer, boolean, duration, words, name and bucket
// lists, endpoints, URLs): each a typed check with today's error messages, and the text form an
// env var or flag gives it.
import { parse as parseYaml } from 'yaml';
import { closest, describe } from './errors.js';
import { DurationError, parseDuration } from './duration.js';
import { INVALID, type LeafSpec, type Path, type Report } from './spec.js';
import { PROCESSOR_NAMES, type ProcessorName } from './types.js';

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function numberFromText(text: string): unknown {
  const t = text.trim();
  return NUMBER_TEXT.test(t) ? Number(t) : text;
}

/** "a,b,c" → ["a","b","c"]; "" → []; "[a, b]" → YAML flow sequence. */
export function listFromText(text: string, item: (t: string) => unknown = (t) => t): unknown {
  const t = text.trim();
  if (t === '') return [];
  if (t.startsWith('[')) {
    try {
      return parseYaml(t) as unknown;
    } catch {
      return text;
    }
  }
  return t.split(',').map((s) => item(s.trim()));
}


/** Tempo processor names spanmeter does not provide. */
const TEMPO_ONLY_PROCESSORS = new Set([
  'local-blocks',
  'host-info',
  'span-metrics-latency',
  'span-metrics-count',
  'span-metrics-size',
  'service-graphs-request',
  'service-graphs-latency',
]);

interface ParsedEndpoint {
  /** Host without IPv6 brackets: "127.0.0.1", "::1", "localhost"; "" for ":4318" (all interfaces). */
  host: string;
  port: number;
}

const HOST_NAME = /^[A-Za-z0-9._-]+$/;
const HOST_V6 = /^\[([0-9A-Fa-f:.]+(?:%[A-Za-z0-9.]+)?)\]$/;

/** Why `text` is not a valid "host:port", or undefined if it is. */
function endpointProblem(text: string): string | undefined {
  const colon = text.lastIndexOf(':');
  const host = colon < 0 ? '' : text.slice(0, colon);
  const port = colon < 0 ? '' : text.slice(colon + 1);
  const got = JSON.stringify(text);
  const portOk = /^\d{1,5}$/.test(port) && Number(port) <= 65535;
  if (text.includes('://')) {
    return `expected host:port, got ${got} (no scheme: write ${JSON.stringify(text.slice(text.indexOf('://') + 3))})`;
  }
  if (host.includes(':') && !host.startsWith('[')) {
    return `expected host:port, got ${got} (write an IPv6 address in brackets: [::1]:4318)`;
  }
  if (colon < 0 || !portOk || !(host === '' || HOST_NAME.test(host) || HOST_V6.test(host))) {
    return `expected host:port with port 0..65535, got ${got}`;
  }
  return undefined;
}

/** Splits a validated endpoint "host:port" ("[::1]:4318" → host "::1"). Throws on an invalid or empty one. */
export function splitEndpoint(endpoint: string): ParsedEndpoint {
  const problem = endpointProblem(endpoint);
  if (problem) throw new Error(problem);
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon);
  const v6 = HOST_V6.exec(host);
  return { host: v6 ? v6[1]! : host, port: Number(endpoint.slice(colon + 1)) };
}

export function endpoint(canDisable: boolean): LeafSpec<string> {
  return {
    kind: 'leaf',
    type: canDisable ? 'host:port or ""' : 'host:port',
    fromText: (t) => t,
    check(raw, path, report) {
      if (typeof raw !== 'string') {
        report(path, `expected a string "host:port", got ${describe(raw)}`);
        return INVALID;
      }
      if (raw === '') {
        if (canDisable) return raw;
        report(path, 'must not be empty (the metrics endpoint cannot be disabled)');
        return INVALID;
      }
      const problem = endpointProblem(raw);
      if (problem) {
        report(path, problem);
        return INVALID;
      }
      return raw;
    },
  };
}

export function integer(min: number): LeafSpec<number> {
  return {
    kind: 'leaf',
    type: 'integer',
    fromText: numberFromText,
    check(raw, path, report) {
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) {
        report(path, `expected an integer, got ${describe(raw)}`);
        return INVALID;
      }
      if (raw < min) {
        report(path, `must be at least ${min}, got ${raw}`);
        return INVALID;
      }
      return raw;
    },
  };
}

export function boolean(): LeafSpec<boolean> {
  return {
    kind: 'leaf',
    type: 'boolean',
    fromText: (t) => (/^true$/i.test(t.trim()) ? true : /^false$/i.test(t.trim()) ? false : t),
    check(raw, path, report) {
      if (typeof raw !== 'boolean') {
        report(path, `expected a boolean (true or false), got ${describe(raw)}`);
        return INVALID;
      }
      return raw;
    },
  };
}

export function string(): LeafSpec<string> {
  return {
    kind: 'leaf',
    type: 'string',
    fromText: (t) => t,
    check(raw, path, report) {
      if (typeof raw !== 'string') {
        report(path, `expected a string, got ${describe(raw)}`);
        return INVALID;
      }
      return raw;
    },
  };
}

/** A Go duration string (with `days`, also d and w units), stored as milliseconds; must be > 0. */
export function duration(allowZero = false, days = false): LeafSpec<number> {
  return {
    kind: 'leaf',
    type: 'duration',
    fromText: (t) => t,
    check(raw, path, report) {
      if (typeof raw !== 'string') {
        report(path, `expected a duration string like "10s", got ${describe(raw)}`);
        return INVALID;
      }
      let ms: number;
      try {
        ms = parseDuration(raw, days);
      } catch (e) {
        report(path, e instanceof DurationError ? e.message : String(e));
        return INVALID;
      }
      if (!(ms > 0) && !(allowZero && ms === 0)) {
        report(path, `must be greater than 0, got ${JSON.stringify(raw)}`);
        return INVALID;
      }
      return ms;
    },
  };
}

/** A percentage strictly between 0 and 100. */
export function percent(): LeafSpec<number> {
  return {
    kind: 'leaf',
    type: 'number',
    fromText: numberFromText,
    check(raw, path, report) {
      if (typeof raw !== 'number' || !(raw > 0 && raw < 100)) {
        report(path, `expected a percentage between 0 and 100 (exclusive), like 99.9, got ${describe(raw)}`);
        return INVALID;
      }
      return raw;
    },
  };
}

/** A number above `min` (exclusive), like a native histogram's bucket factor above 1. */
export function above(min: number): LeafSpec<number> {
  return {
    kind: 'leaf',
    type: 'number',
    fromText: numberFromText,
    check(raw, path, report) {
      if (typeof raw !== 'number' || !Number.isFinite(raw) || !(raw > min)) {
        report(path, `expected a number above ${min}, like ${min + 0.1}, got ${describe(raw)}`);
        return INVALID;
      }
      return raw;
    },
  };
}

/** One of a fixed set of words (any case); yields exactly their union, so a word the key's type adds must be listed. */
export function oneOf<const W extends string>(words: readonly W[]): LeafSpec<W> {
  return {
    kind: 'leaf',
    type: words.join('|'),
    fromText: (t) => t,
    check(raw, path, report) {
      const v = typeof raw === 'string' ? raw.toLowerCase() : raw;
      if (typeof v !== 'string' || !(words as readonly string[]).includes(v)) {
        report(path, `expected one of ${words.join(', ')}, got ${describe(raw)}`);
        return INVALID;
      }
      return v as W;
    },
  };
}

export function checkList(raw: unknown, path: Path, report: Report): unknown[] | undefined {
  if (!Array.isArray(raw)) {
    report(path, `expected a list, got ${describe(raw)}`);
    return undefined;
  }
  return raw;
}

/** A list of non-empty, distinct strings (attribute names). */
export function nameList(): LeafSpec<string[]> {
  return {
    kind: 'leaf',
    type: 'list of strings',
    fromText: (t) => listFromText(t),
    check(raw, path, report) {
      const list = checkList(raw, path, report);
      if (!list) return INVALID;
      let ok = true;
      const seen = new Set<string>();
      list.forEach((item, i) => {
        if (typeof item !== 'string' || item === '') {
          report([...path, i], `expected a non-empty string, got ${describe(item)}`);
          ok = false;
        } else if (seen.has(item)) {
          report([...path, i], `duplicate ${JSON.stringify(item)}`);
          ok = false;
        } else {
          seen.add(item);
        }
      });
      return ok ? [...(list as string[])] : INVALID;
    },
  };
}

/** Histogram upper bounds in seconds: at least one, finite, >= 0, strictly ascending. */
export function buckets(): LeafSpec<number[]> {
  return {
    kind: 'leaf',
    type: 'list of numbers',
    fromText: (t) => listFromText(t, numberFromText),
    check(raw, path, report) {
      const list = checkList(raw, path, report);
      if (!list) return INVALID;
      if (list.length === 0) {
        report(path, 'must list at least one bucket');
        return INVALID;
      }
      let ok = true;
      let prev: number | undefined;
      list.forEach((item, i) => {
        const at = [...path, i];
        if (typeof item !== 'number') {
          report(at, `expected a number, got ${describe(item)}`);
          ok = false;
          prev = undefined;
          return;
        }
        if (!Number.isFinite(item)) {
          report(at, `must be a finite number, got ${item}`);
          ok = false;
        } else if (item < 0) {
          report(at, `must not be negative, got ${item}`);
          ok = false;
        } else if (prev !== undefined && !(item > prev)) {
          report(at, `buckets must be strictly ascending, got ${item} after ${prev}`);
          ok = false;
        }
        prev = item;
      });
      return ok ? [...(list as number[])] : INVALID;
    },
  };
}

export function processors(): LeafSpec<ProcessorName[]> {
  return {
    kind: 'leaf',
    type: `list of ${PROCESSOR_NAMES.join('|')}`,
    fromText: (t) => listFromText(t),
    check(raw, path, report) {
      const list = checkList(raw, path, report);
      if (!list) return INVALID;
      if (list.length === 0) {
        report(path, `must list at least one processor (${PROCESSOR_NAMES.join(', ')})`);
        return INVALID;
      }
      let ok = true;
      const seen = new Set<string>();
      list.forEach((item, i) => {
        const at = [...path, i];
        if (typeof item !== 'string') {
          report(at, `expected a processor name, got ${describe(item)}`);
          ok = false;
        } else if (!(PROCESSOR_NAMES as readonly string[]).includes(item)) {
          const supported = `supported: ${PROCESSOR_NAMES.join(', ')}`;
          if (TEMPO_ONLY_PROCESSORS.has(item)) {
            report(at, `Tempo processor ${JSON.stringify(item)} is not provided by spanmeter (${supported})`);
          } else {
            const guess = closest(item, PROCESSOR_NAMES);
            report(at, `unknown processor ${JSON.stringify(item)} (${guess ? `did you mean ${guess}?` : supported})`);
          }
          ok = false;
        } else if (seen.has(item)) {
          report(at, `duplicate ${JSON.stringify(item)}`);
          ok = false;
        } else {
          seen.add(item);
        }
      });
      return ok ? [...(list as ProcessorName[])] : INVALID;
    },
  };
}

/** Why `text` is not an absolute http:// or https:// URL, or undefined if it is. */
function httpUrlProblem(text: string): string | undefined {
  const got = JSON.stringify(text);
  if (!text.includes('://')) return `expected an http(s) URL, got ${got} (no scheme: write http://${text})`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected an http(s) URL, got ${got}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `expected an http(s) URL, got ${got} (scheme ${url.protocol.slice(0, -1)} is not http or https)`;
  }
  return undefined;
}

/** An absolute http:// or https:// URL; "" too when canDisable. */
export function httpUrl(canDisable: boolean): LeafSpec<string> {
  return {
    kind: 'leaf',
    type: canDisable ? 'http(s) URL or ""' : 'http(s) URL',
    fromText: (t) => t,
    check(raw, path, report) {
      if (typeof raw !== 'string') {
        report(path, `expected an http(s) URL, got ${describe(raw)}`);
        return INVALID;
      }
      if (raw === '' && canDisable) return raw;
      const problem = httpUrlProblem(raw);
      if (problem) {
        report(path, problem);
        return INVALID;
      }
      return raw;
    },
  };
}
