// Tempo's filter_policies (pkg/spanfilter/config): the check of the list, with Tempo's rules, and
// what each attribute key addresses. The core evaluates the policies (src/core/filters.ts turns
// them into its condition records).
import { describe } from './errors.js';
import { INVALID, type LeafSpec, type Path, type Report } from './spec.js';
import { checkList } from './values.js';
import { yamlFromText } from './mappings.js';

export type FilterValue = string | number | boolean;

export interface FilterAttribute {
  /** `resource.x`, `span.x`, or the intrinsics `kind`, `status`, `name` (TraceQL identifiers). */
  key: string;
  /** strict: the value (string, int, float, bool); regex: a regular expression. */
  value: FilterValue;
}

export interface PolicyMatch {
  match_type: 'strict' | 'regex';
  attributes: FilterAttribute[];
}

/** One policy: a span is left out when `exclude` matches; see src/core/filters.ts for the whole rule. */
export interface FilterPolicy {
  include?: PolicyMatch;
  include_any?: PolicyMatch;
  exclude?: PolicyMatch;
}

/** What a filter attribute key addresses. */
export type FilterTarget =
  | { on: 'kind' | 'status' | 'name' }
  | { on: 'resource' | 'span'; name: string };

/** OTLP span kinds and status codes by the names Tempo's strict values use (the protobuf enum names). */
export const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER',
] as const;
export const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;

const CATEGORIES = ['include', 'include_any', 'exclude'] as const;

/** The target of a TraceQL identifier as Tempo's filter policies accept it, or an error message. */
export function filterTarget(key: string): FilterTarget | string {
  const intrinsic = key.replace(/^span:/, '');
  if (intrinsic === 'kind' || intrinsic === 'status' || intrinsic === 'name') return { on: intrinsic };
  const m = /^(resource|span)\.(.+)$/.exec(key);
  if (!m) {
    return `unsupported attribute ${JSON.stringify(key)}: use resource.<name>, span.<name> or the intrinsics kind, status, name`;
  }
  let name = m[2]!;
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  else if (/\s/.test(name)) return `attribute name ${JSON.stringify(name)} has spaces: quote it, as in span."${name}"`;
  return { on: m[1] as 'resource' | 'span', name };
}

/**
 * A regular expression as Tempo's Go regexp applies it: anywhere in the string (not anchored),
 * a leading Go flag group such as (?i) or (?is) turned into JavaScript flags.
 */
export function filterRegex(pattern: string): RegExp {
  const m = /^\(\?([ims]+)\)/.exec(pattern);
  return m ? new RegExp(pattern.slice(m[0].length), m[1]) : new RegExp(pattern);
}

function checkMatch(raw: unknown, path: Path, report: Report): PolicyMatch | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    report(path, `expected a mapping with match_type and attributes, got ${describe(raw)}`);
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  let ok = true;
  for (const k of Object.keys(obj)) {
    if (k !== 'match_type' && k !== 'attributes') {
      report([...path, k], 'unknown key (a policy match has match_type and attributes)', true);
      ok = false;
    }
  }
  const type = obj.match_type;
  if (type !== 'strict' && type !== 'regex') {
    report([...path, 'match_type'], `expected strict or regex, got ${describe(type)}`);
    return undefined;
  }
  const list = obj.attributes === undefined ? [] : checkList(obj.attributes, [...path, 'attributes'], report);
  if (!list) return undefined;
  const attributes: FilterAttribute[] = [];
  list.forEach((item, i) => {
    const at = [...path, 'attributes', i];
    const a = item as Record<string, unknown> | null;
    if (typeof a !== 'object' || a === null || typeof a.key !== 'string' || a.key === '') {
      report(at, `expected a mapping with a non-empty key and a value, got ${describe(item)}`);
      ok = false;
      return;
    }
    const target = filterTarget(a.key);
    const value = a.value;
    if (typeof target === 'string') {
      report([...at, 'key'], target);
      ok = false;
    } else if (typeof value !== 'string' && typeof value !== 'boolean' && (typeof value !== 'number' || !Number.isFinite(value))) {
      report([...at, 'value'], `expected a string, number or boolean, got ${describe(value)}`);
      ok = false;
    } else if (type === 'regex') {
      if (typeof value !== 'string') {
        report([...at, 'value'], `a regex value must be a string, got ${describe(value)}`);
        ok = false;
      } else {
        try {
          filterRegex(value);
        } catch (e) {
          report([...at, 'value'], `invalid regular expression: ${(e as Error).message}`);
          ok = false;
        }
      }
    } else if (target.on !== 'resource' && target.on !== 'span') {
      const words: readonly string[] = target.on === 'kind' ? SPAN_KIND_NAMES : target.on === 'status' ? STATUS_CODE_NAMES : [];
      if (typeof value !== 'string' || (words.length > 0 && !words.includes(value))) {
        report([...at, 'value'], `expected ${words.length > 0 ? `one of ${words.join(', ')}` : 'a string'}, got ${describe(value)}`);
        ok = false;
      }
    }
    if (ok) attributes.push({ key: a.key, value: value as FilterValue });
  });
  return ok ? { match_type: type, attributes } : undefined;
}

/** Tempo's filter_policies: a list of policies, each with include, include_any and/or exclude. */
export function filterPolicies(): LeafSpec<FilterPolicy[]> {
  return {
    kind: 'leaf',
    type: 'list of filter policies',
    fromText: yamlFromText,
    check(raw, path, report) {
      const list = checkList(raw, path, report);
      if (!list) return INVALID;
      const out: FilterPolicy[] = [];
      let ok = true;
      list.forEach((item, i) => {
        const at = [...path, i];
        if (typeof item !== 'object' || item === null || Array.isArray(item)) {
          report(at, `expected a mapping with include, include_any or exclude, got ${describe(item)}`);
          ok = false;
          return;
        }
        const obj = item as Record<string, unknown>;
        const policy: FilterPolicy = {};
        for (const k of Object.keys(obj)) {
          if (!(CATEGORIES as readonly string[]).includes(k)) {
            report([...at, k], 'unknown key (a filter policy has include, include_any and exclude)', true);
            ok = false;
          }
        }
        for (const c of CATEGORIES) {
          if (obj[c] === undefined || obj[c] === null) continue;
          const m = checkMatch(obj[c], [...at, c], report);
          if (m) policy[c] = m;
          else ok = false;
        }
        if (!policy.include && !policy.include_any && !policy.exclude && ok) {
          report(at, 'a filter policy needs at least an include, include_any or exclude');
          ok = false;
        }
        out.push(policy);
      });
      return ok ? out : INVALID;
    },
  };
}
