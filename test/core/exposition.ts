// Parsing the span-metrics exposition (Prometheus text 0.0.4) back into series, for comparing the
// core's exposition with series computed from the reference decoder (helpers.ts).
import { labelKey, type SeriesMap } from './helpers.js';

const CALLS = 'traces_spanmetrics_calls_total';
const SIZE = 'traces_spanmetrics_size_total';
const LATENCY = 'traces_spanmetrics_latency';

interface ParsedSample {
  name: string;
  labels: [string, string][];
  value: number;
}

function parseSampleLine(line: string): ParsedSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!m) throw new Error(`bad sample line: ${JSON.stringify(line)}`);
  const name = m[1]!;
  let i = name.length;
  const labels: [string, string][] = [];
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!ln || line[i + ln[0].length] !== '=' || line[i + ln[0].length + 1] !== '"') throw new Error(`bad label in ${JSON.stringify(line)}`);
      i += ln[0].length + 2;
      let v = '';
      for (;;) {
        const c = line[i++];
        if (c === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          if (e === '\\') v += '\\';
          else if (e === '"') v += '"';
          else if (e === 'n') v += '\n';
          else throw new Error(`bad escape \\${e} in ${JSON.stringify(line)}`);
        } else v += c;
      }
      labels.push([ln[0], v]);
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`expected , or } in ${JSON.stringify(line)}`);
    }
    i++;
  }
  if (line[i] !== ' ') throw new Error(`expected a space before the value in ${JSON.stringify(line)}`);
  const text = line.slice(i + 1);
  const value = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`bad value in ${JSON.stringify(line)}`);
  return { name, labels, value };
}

export interface ParsedExposition {
  series: SeriesMap;
  /** Structural problems: duplicate series or label names, inconsistent histograms. */
  problems: string[];
}

/** Parses the span-metrics text back into series; `bounds` are the configured bucket bounds. */
export function parseExposition(text: string, bounds: number[]): ParsedExposition {
  const problems: string[] = [];
  const calls = new Map<string, number>();
  const size = new Map<string, number>();
  const sum = new Map<string, number>();
  const count = new Map<string, number>();
  const cumulative = new Map<string, Map<string, number>>();
  const seen = new Set<string>();
  if (text !== '' && !text.endsWith('\n')) problems.push('exposition does not end with a line feed');
  for (const line of text.split('\n')) {
    // The events counter (on in one differential config) has its own tests (test/slos/core.test.ts).
    if (line === '' || line.startsWith('#') || line.startsWith('traces_spanmetrics_events_total')) continue;
    const s = parseSampleLine(line);
    const names = s.labels.map(([n]) => n);
    if (new Set(names).size !== names.length) problems.push(`label name repeated: ${line}`);
    let le: string | undefined;
    const rest = s.labels.filter(([n, v]) => {
      if (s.name === `${LATENCY}_bucket` && n === 'le' && le === undefined) {
        le = v;
        return false;
      }
      return true;
    });
    for (const [, v] of rest) if (v === '') problems.push(`empty label value written: ${line}`);
    const key = labelKey(rest);
    const sampleId = `${s.name}|${le ?? ''}|${key}`;
    if (seen.has(sampleId)) problems.push(`duplicate sample: ${line}`);
    seen.add(sampleId);
    switch (s.name) {
      case CALLS: calls.set(key, s.value); break;
      case SIZE: size.set(key, s.value); break;
      case `${LATENCY}_sum`: sum.set(key, s.value); break;
      case `${LATENCY}_count`: count.set(key, s.value); break;
      case `${LATENCY}_bucket`: {
        if (le === undefined) problems.push(`bucket without le: ${line}`);
        let m = cumulative.get(key);
        if (!m) cumulative.set(key, (m = new Map()));
        m.set(le ?? '', s.value);
        break;
      }
      default: problems.push(`unknown sample: ${line}`);
    }
  }
  const series: SeriesMap = new Map();
  for (const [key, c] of calls) {
    const cum = cumulative.get(key) ?? new Map<string, number>();
    const buckets: number[] = [];
    let prev = 0;
    for (const b of bounds) {
      const v = cum.get(String(b));
      if (v === undefined) problems.push(`${key}: no bucket le="${b}"`);
      buckets.push((v ?? prev) - prev);
      prev = v ?? prev;
    }
    if (cum.get('+Inf') !== c) problems.push(`${key}: le="+Inf" bucket ${cum.get('+Inf')} != calls ${c}`);
    if (count.get(key) !== c) problems.push(`${key}: _count ${count.get(key)} != calls ${c}`);
    if (cum.size !== bounds.length + 1) problems.push(`${key}: ${cum.size} buckets written, expected ${bounds.length + 1}`);
    series.set(key, { calls: c, size: size.get(key) ?? NaN, sum: sum.get(key) ?? NaN, buckets });
  }
  for (const m of [size, sum, count, cumulative]) for (const k of m.keys()) if (!calls.has(k)) problems.push(`series without calls: ${k}`);
  return { series, problems };
}
