// `spanmeter --print-config`: the effective configuration (defaults < file < env < flags, as
// load.ts merged it) as YAML that --config reads back to the same configuration. Durations are
// written Go-style ("10s"), tokens are redacted.
import { stringify } from 'yaml';
import { REMOTE_WRITE_DEFAULTS, SLO_DEFAULTS } from './defaults.js';
import { formatDuration } from './duration.js';
import { SCHEMA } from './keys.js';
import { anySpec, type AnyObjectSpec } from './spec.js';
import type { Config } from './types.js';

/** What a secret prints as: not a valid token, so a printed config never authenticates anybody. */
export const REDACTED = '<redacted>';

/** The keys of the list entries (remote_write, slos) that hold durations, and their defaults. */
const LIST_ITEMS: Record<string, { durations: readonly string[]; defaults: Record<string, unknown> }> = {
  remote_write: { durations: ['timeout'], defaults: REMOTE_WRITE_DEFAULTS },
  slos: { durations: ['window', 'threshold'], defaults: SLO_DEFAULTS },
};

export function printConfig(config: Config): string {
  const out = section(anySpec(SCHEMA), config as unknown as Record<string, unknown>, []);
  return `# spanmeter's effective configuration (defaults < config file < SPANMETER_* env < flags)\n${stringify(out, { lineWidth: 0 })}`;
}

function section(spec: AnyObjectSpec, values: Record<string, unknown>, path: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(spec.fields)) {
    const value = values[key];
    if (child.kind === 'object') {
      out[key] = section(child, value as Record<string, unknown>, [...path, key]);
    } else if (child.type === 'duration') {
      out[key] = formatDuration(value as number);
    } else if (key === 'bearer_token' || key === 'headers') {
      out[key] = redact(key, value);
    } else if (path.length === 0 && Object.hasOwn(LIST_ITEMS, key)) {
      out[key] = (value as Record<string, unknown>[]).map((entry) => listEntry(LIST_ITEMS[key]!, entry));
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** An entry of remote_write or slos: the keys that differ from the entry defaults, durations formatted. */
function listEntry(item: (typeof LIST_ITEMS)[string], entry: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (Object.hasOwn(item.defaults, key) && JSON.stringify(item.defaults[key]) === JSON.stringify(value)) continue;
    if (item.durations.includes(key)) out[key] = formatDuration(value as number);
    else if (key === 'headers') out[key] = redact(key, value);
    else out[key] = value;
  }
  return out;
}

/** A bearer token, or the Authorization header among headers, as REDACTED (an unset one stays ""). */
function redact(key: string, value: unknown): unknown {
  if (key === 'bearer_token') return value === '' ? '' : REDACTED;
  const headers = value as Record<string, string>;
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, k.toLowerCase() === 'authorization' ? REDACTED : v]));
}
