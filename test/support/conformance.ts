// The conformance pack's case format and the checks of "How a case runs" (pack README):
// expect (value within tolerance, or_absent), absent, exhaustive, duplicates, with the label
// rules: an empty label value is no label (both sides); job and instance are ignored; le is
// compared as a number ("+Inf" = infinity); in an absent pattern, "" means "label absent".
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { parsePrometheusText, parsePromValue, validateExposition, type Exposition } from './prom-text.js';
import { PROJECT_ROOT } from './sidecar.js';

/**
 * The conformance pack (README "Development"), the one place tests look for it:
 * $SPANMETER_CONFORMANCE_DIR, else shared/conformance beside the clone (../shared/conformance).
 */
export const PACK_DIR = resolve(PROJECT_ROOT, process.env.SPANMETER_CONFORMANCE_DIR || '../shared/conformance');

/** Whether the pack is there: its cases/ and inputs/ folders. */
export const PACK_FOUND = existsSync(join(PACK_DIR, 'cases')) && existsSync(join(PACK_DIR, 'inputs'));

/**
 * Whether the tests that need the pack run: when it is there, or when SPANMETER_CONFORMANCE_REQUIRED=1
 * (.ci/run sets it) so that a missing pack fails them instead of skipping them.
 */
export const WITH_PACK = PACK_FOUND || process.env.SPANMETER_CONFORMANCE_REQUIRED === '1';

if (!WITH_PACK) {
  process.stderr.write(
    `conformance pack not found at ${PACK_DIR}: the tests that need it are skipped ` +
      '(set SPANMETER_CONFORMANCE_DIR to the pack, see README "Development")\n',
  );
}

/** A file of the pack: packFile('inputs', 'own-sm-basic.json'). */
export function packFile(...parts: string[]): string {
  return join(PACK_DIR, ...parts);
}

export interface CaseExpect {
  metric: string;
  labels: Record<string, string>;
  value: number;
  tolerance?: number;
  or_absent?: boolean;
  note?: string;
}

export interface CaseAbsent {
  metric: string;
  labels?: Record<string, string>;
  note?: string;
}

export interface ConformanceCase {
  name: string;
  description?: string;
  source?: unknown;
  config: Record<string, unknown>;
  inputs: string[];
  wait_seconds: number;
  expect: CaseExpect[];
  absent: CaseAbsent[];
  exhaustive: string[];
  notes?: unknown;
  /** The case file. */
  file: string;
}

const DEFAULT_TOLERANCE = 1e-9;
const IGNORED_LABELS: ReadonlySet<string> = new Set(['job', 'instance']);

function labelMap(raw: unknown, where: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${where}: labels must be a map`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw new Error(`${where}: label ${k} has a ${v === null ? 'null' : typeof v} value`);
  }
  return out;
}

function numberValue(raw: unknown, where: string): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string') {
    const v = parsePromValue(raw);
    if (v !== undefined) return v;
  }
  throw new Error(`${where}: not a number: ${JSON.stringify(raw)}`);
}

export function parseCase(text: string, file: string): ConformanceCase {
  const doc = YAML.parse(text) as Record<string, unknown>;
  if (!doc || typeof doc !== 'object') throw new Error(`${file}: not a YAML map`);
  const name = doc.name;
  if (typeof name !== 'string' || name === '') throw new Error(`${file}: no name`);
  const inputs = doc.inputs;
  if (!Array.isArray(inputs) || inputs.some((i) => typeof i !== 'string')) throw new Error(`${file}: inputs must be a list of file names`);
  const config = (doc.config ?? {}) as Record<string, unknown>;
  if (typeof config !== 'object' || Array.isArray(config)) throw new Error(`${file}: config must be a map`);
  const expect = ((doc.expect ?? []) as unknown[]).map((e, i): CaseExpect => {
    const r = e as Record<string, unknown>;
    const where = `${file}: expect[${i}]`;
    if (typeof r.metric !== 'string') throw new Error(`${where}: no metric`);
    const out: CaseExpect = { metric: r.metric, labels: labelMap(r.labels, where), value: numberValue(r.value, where) };
    if (r.tolerance !== undefined) out.tolerance = numberValue(r.tolerance, where);
    if (r.or_absent !== undefined) out.or_absent = r.or_absent === true;
    if (typeof r.note === 'string') out.note = r.note;
    return out;
  });
  const absent = ((doc.absent ?? []) as unknown[]).map((a, i): CaseAbsent => {
    const r = a as Record<string, unknown>;
    const where = `${file}: absent[${i}]`;
    if (typeof r.metric !== 'string') throw new Error(`${where}: no metric`);
    const out: CaseAbsent = { metric: r.metric };
    if (r.labels !== undefined) out.labels = labelMap(r.labels, where);
    if (typeof r.note === 'string') out.note = r.note;
    return out;
  });
  const exhaustive = (doc.exhaustive ?? []) as unknown[];
  if (!Array.isArray(exhaustive) || exhaustive.some((m) => typeof m !== 'string')) throw new Error(`${file}: exhaustive must be a list of metric names`);
  const wait = doc.wait_seconds === undefined ? 1 : numberValue(doc.wait_seconds, `${file}: wait_seconds`);
  return {
    name,
    description: typeof doc.description === 'string' ? doc.description : undefined,
    source: doc.source,
    config,
    inputs: inputs as string[],
    wait_seconds: wait,
    expect,
    absent,
    exhaustive: exhaustive as string[],
    notes: doc.notes,
    file,
  };
}

export function loadCases(packDir = PACK_DIR): ConformanceCase[] {
  const dir = join(packDir, 'cases');
  if (!existsSync(dir)) throw new Error(`conformance pack not found: ${dir}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => parseCase(readFileSync(join(dir, f), 'utf8'), f));
}

// ---------------------------------------------------------------------------------------------
// Label rules

/** Canonical form of a label value for comparison: `le` as a number, everything else verbatim. */
function canonValue(name: string, value: string): string {
  if (name === 'le') {
    const v = parsePromValue(value.trim());
    if (v !== undefined && !Number.isNaN(v)) return v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
  }
  return value;
}

/** Labels after the rules: empty values and job/instance dropped, le canonical. */
export function normalizeLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (v === '' || IGNORED_LABELS.has(k)) continue;
    out[k] = canonValue(k, v);
  }
  return out;
}

export function seriesKey(metric: string, labels: Record<string, string>): string {
  const n = normalizeLabels(labels);
  return `${metric}{${Object.keys(n)
    .sort()
    .map((k) => `${k}=${JSON.stringify(n[k])}`)
    .join(',')}}`;
}

/** Prometheus-style rendering for messages. */
export function showSeries(metric: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${metric}{${parts.join(',')}}`;
}

function matchesPattern(labels: Record<string, string>, pattern: Record<string, string>): boolean {
  const n = normalizeLabels(labels);
  for (const [k, v] of Object.entries(pattern)) {
    if (v === '') {
      if (n[k] !== undefined) return false;
    } else if (n[k] !== canonValue(k, v)) {
      return false;
    }
  }
  return true;
}

function fmt(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

// ---------------------------------------------------------------------------------------------
// Checks

export interface CheckResult {
  /** One line per failed check. */
  failures: string[];
  /** How many checks ran. */
  checks: number;
}

/** Checks a /metrics text against a case; every failed check is one line. */
export function checkMetrics(c: Pick<ConformanceCase, 'expect' | 'absent' | 'exhaustive'>, metricsText: string): CheckResult {
  let expo: Exposition;
  try {
    expo = parsePrometheusText(metricsText);
  } catch (e) {
    return { failures: [`/metrics is not valid Prometheus text 0.0.4: ${(e as Error).message}`], checks: 1 };
  }
  return checkExposition(c, expo);
}

export function checkExposition(c: Pick<ConformanceCase, 'expect' | 'absent' | 'exhaustive'>, expo: Exposition): CheckResult {
  const failures: string[] = [];
  let checks = 0;

  // exposition rules (histogram structure, counters, exact duplicates)
  checks++;
  for (const p of validateExposition(expo)) failures.push(`exposition: ${p}`);

  // duplicates under the label rules
  checks++;
  const byKey = new Map<string, (typeof expo.samples)[number][]>();
  for (const s of expo.samples) {
    const k = seriesKey(s.name, s.labels);
    const list = byKey.get(k);
    if (list) list.push(s);
    else byKey.set(k, [s]);
  }
  for (const [k, list] of byKey) {
    if (list.length > 1) {
      failures.push(`duplicate: ${list.length} series equal under the label rules as ${k}: lines ${list.map((s) => s.line).join(', ')}`);
    }
  }

  // expect
  const expectedKeys = new Set<string>();
  for (const e of c.expect) {
    checks++;
    const k = seriesKey(e.metric, e.labels);
    expectedKeys.add(k);
    const found = byKey.get(k);
    const tol = e.tolerance ?? DEFAULT_TOLERANCE;
    const what = `expect ${showSeries(e.metric, normalizeLabels(e.labels))} = ${fmt(e.value)}` + (e.tolerance !== undefined ? ` ± ${e.tolerance}` : '');
    if (!found || found.length === 0) {
      if (e.or_absent && e.value === 0) continue;
      const same = expo.samples.filter((s) => s.name === e.metric);
      const hint = same.length === 0 ? `no series of ${e.metric} at all` : `${same.length} other series of ${e.metric}, e.g. ${showSeries(e.metric, same[0]!.labels)}`;
      failures.push(`${what}: missing (${hint})`);
      continue;
    }
    const got = found[0]!.value;
    const ok = Number.isNaN(e.value) ? Number.isNaN(got) : got === e.value || Math.abs(got - e.value) <= tol;
    if (!ok) failures.push(`${what}: got ${fmt(got)} (line ${found[0]!.line})`);
  }

  // absent
  for (const a of c.absent) {
    checks++;
    const pattern = a.labels ?? {};
    const hits = expo.samples.filter((s) => s.name === a.metric && matchesPattern(s.labels, pattern));
    if (hits.length > 0) {
      const what = Object.keys(pattern).length === 0 ? `absent ${a.metric} (any series)` : `absent ${showSeries(a.metric, pattern)}`;
      const shown = hits.slice(0, 5).map((s) => `${showSeries(s.name, s.labels)} ${fmt(s.value)}`);
      failures.push(`${what}: found ${hits.length}: ${shown.join('; ')}${hits.length > 5 ? '; …' : ''}`);
    }
  }

  // exhaustive
  for (const m of c.exhaustive) {
    checks++;
    const extra = expo.samples.filter((s) => s.name === m && !expectedKeys.has(seriesKey(s.name, s.labels)));
    for (const s of extra) failures.push(`exhaustive ${m}: unexpected series ${showSeries(s.name, s.labels)} ${fmt(s.value)} (line ${s.line})`);
  }
  return { failures, checks };
}

