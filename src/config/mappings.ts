// Values with structure: string mappings (external labels, headers) and lists of mappings
// (remote_write, slos), each entry checked key by key and completed with its defaults.
import { parse as parseYaml } from 'yaml';
import { describe } from './errors.js';
import { INVALID, checkRecord, isPlainObject, type LeafSpec, type ObjectSpec, anySpec } from './spec.js';
import { checkList } from './values.js';

/** "a=1,b=2" → {a: "1", b: "2"}; "" → {}; "{a: 1}" → YAML flow mapping; anything else stays text (an error). */
function mapFromText(text: string): unknown {
  const t = text.trim();
  if (t === '') return {};
  if (t.startsWith('{')) {
    try {
      return parseYaml(t) as unknown;
    } catch {
      return text;
    }
  }
  const out: Record<string, string> = {};
  for (const part of t.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return text;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

interface StringMapRules {
  /** Type as the docs name it. */
  type: string;
  /** Why a key is not acceptable, or undefined. */
  key(name: string): string | undefined;
  /** Why a value is not acceptable, or undefined. */
  value(value: string): string | undefined;
}

/** A mapping of strings to strings, each key and value checked by `rules`; problems name `path.key`. */
function stringMap(rules: StringMapRules): LeafSpec<Record<string, string>> {
  return {
    kind: 'leaf',
    type: rules.type,
    fromText: mapFromText,
    check(raw, path, report) {
      if (!isPlainObject(raw)) {
        report(path, `expected a mapping (name: value), got ${describe(raw)}`);
        return INVALID;
      }
      let ok = true;
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw)) {
        const at = [...path, k];
        const keyProblem = rules.key(k);
        if (keyProblem) {
          report(at, keyProblem, true);
          ok = false;
        } else if (typeof v !== 'string') {
          report(at, `expected a string, got ${describe(v)}`);
          ok = false;
        } else {
          const valueProblem = rules.value(v);
          if (valueProblem) {
            report(at, valueProblem);
            ok = false;
          } else {
            out[k] = v;
          }
        }
      }
      return ok ? out : INVALID;
    },
  };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers the exporters set themselves (or the transport does). */
const RESERVED_HEADERS = new Set([
  'content-type', 'content-encoding', 'content-length', 'transfer-encoding', 'connection', 'host', 'te',
  'user-agent', 'x-prometheus-remote-write-version',
]);

export function externalLabels(): LeafSpec<Record<string, string>> {
  return stringMap({
    type: 'mapping of label names to strings',
    key(name) {
      if (!LABEL_NAME.test(name)) return `invalid label name ${JSON.stringify(name)} (expected [a-zA-Z_][a-zA-Z0-9_]*)`;
      if (name.startsWith('__')) return `label names starting with "__" are reserved, got ${JSON.stringify(name)}`;
      if (name === 'instance') return 'set the instance label with the top-level instance key';
      if (name === 'le') return 'le is the histogram bucket label';
      return undefined;
    },
    value: (v) => (v === '' ? 'must not be empty (an empty label value is no label)' : undefined),
  });
}

export function headers(): LeafSpec<Record<string, string>> {
  return stringMap({
    type: 'mapping of header names to strings',
    key(name) {
      if (!HEADER_NAME.test(name)) return `invalid header name ${JSON.stringify(name)}`;
      const lower = name.toLowerCase();
      if (RESERVED_HEADERS.has(lower) || lower.startsWith('grpc-')) return `header ${name} is set by spanmeter and cannot be overridden`;
      return undefined;
    },
    value: (v) => (/[\r\n\0]/.test(v) ? 'a header value must not contain CR, LF or NUL' : undefined),
  });
}

/** Attribute names to values (a dimension's default): any non-empty name, any string value. */
export function attributeValues(): LeafSpec<Record<string, string> | undefined> {
  const map = stringMap({
    type: 'mapping of attribute names to strings',
    key: (name) => (name === '' ? 'an attribute name must not be empty' : undefined),
    value: () => undefined,
  });
  // The key is optional in SpanMetricsConfig: the same check, typed for it.
  return { ...map, check: (raw, path, report) => map.check(raw, path, report) };
}

/** "[{url: ...}]" → YAML flow list; "http://a/w,http://b/w" → [{url: ...}, ...]; "" → []. */
export function urlListFromText(text: string): unknown {
  const t = text.trim();
  if (t === '') return [];
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return parseYaml(t) as unknown;
    } catch {
      return text;
    }
  }
  return t.split(',').map((u) => ({ url: u.trim() }));
}

/** A YAML flow value ("[{name: a, objective: 99}]"); anything else stays text (an error). */
export function yamlFromText(text: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A list of mappings, each checked against `item` and completed with `defaults()`; the keys in
 * `required` must be given. A later source replaces the whole list.
 */
export function objectList<T, R extends keyof T & string>(
  item: ObjectSpec<T>, defaults: () => Omit<T, R>, required: readonly R[], fromText = urlListFromText,
): LeafSpec<T[]> {
  return {
    kind: 'leaf',
    type: 'list of mappings',
    fromText,
    check(raw, path, report) {
      const list = checkList(raw, path, report);
      if (!list) return INVALID;
      let ok = true;
      const out = list.map((entry, i) => {
        const at = [...path, i];
        const checked = checkRecord(anySpec(item), entry, at, report);
        if (checked === INVALID) {
          ok = false;
          return undefined;
        }
        for (const key of required) {
          if (!Object.hasOwn(checked, key)) {
            report(at, `missing ${key}`);
            ok = false;
          }
        }
        return { ...defaults(), ...checked } as T;
      });
      return ok ? (out as T[]) : INVALID;
    },
  };
}
