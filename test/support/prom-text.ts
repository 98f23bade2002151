// A strict parser for the Prometheus text exposition format 0.0.4, written for the tests.
// Anything outside the format is an error naming the line, since the parser doubles as a check
// on spanmeter's own exposition.
//
//   # HELP <name> <docstring>        docstring escapes: \\ and \n
//   # TYPE <name> counter|gauge|histogram|summary|untyped
//   # <anything else>                 a comment, ignored
//   <name>[{<label>="<value>",...}] <value> [<timestamp>]
//                                     label value escapes: \\ \" \n; a carriage return
//                                     stands for itself inside a label value (Prometheus's
//                                     lexers take it) and is an error anywhere else
//                                     value: float, NaN, +Inf, -Inf (Inf); timestamp: int64 ms
//
// Structure rules: at most one HELP and one TYPE per metric family, both before its first
// sample; all lines of a family form one group; no label name twice in a sample; the text ends
// with a line feed. validateExposition() adds the per-type rules (histogram buckets etc.).

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** Sample name as written (e.g. `x_bucket`). */
  name: string;
  /** Name of the family the sample belongs to (e.g. `x` for `x_bucket` of histogram `x`). */
  family: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
  /** 1-based line number. */
  line: number;
}

export interface Family {
  name: string;
  type: MetricType;
  /** True when the type came from a TYPE line. */
  typed: boolean;
  help?: string;
  samples: Sample[];
}

export interface Exposition {
  samples: Sample[];
  families: Map<string, Family>;
}

export class PromParseError extends Error {
  constructor(
    readonly lineNo: number,
    readonly lineText: string,
    reason: string,
  ) {
    super(`line ${lineNo}: ${reason}: ${JSON.stringify(lineText)}`);
    this.name = 'PromParseError';
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const METRIC_NAME_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME_PREFIX = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TIMESTAMP = /^-?\d+$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses a sample value the way the format allows it. Returns undefined when it is not one. */
export function parsePromValue(s: string): number | undefined {
  switch (s) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
  }
  return FLOAT.test(s) ? Number(s) : undefined;
}

export function parsePrometheusText(text: string): Exposition {
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const closed = new Set<string>(); // families whose group has ended
  let current: string | undefined;

  if (text.length > 0 && !text.endsWith('\n')) {
    const lines = text.split('\n');
    throw new PromParseError(lines.length, lines[lines.length - 1]!, 'the text does not end with a line feed');
  }
  const lines = text.split('\n');
  lines.pop(); // after the final line feed

  const enter = (family: string, lineNo: number, line: string): void => {
    if (family === current) return;
    if (closed.has(family)) {
      throw new PromParseError(lineNo, line, `metric family ${family} continues after another family began (lines of a family must form one group)`);
    }
    if (current !== undefined) closed.add(current);
    current = family;
  };

  const familyOf = (name: string): string => {
    for (const [suffix, types] of [
      ['_bucket', ['histogram']],
      ['_sum', ['histogram', 'summary']],
      ['_count', ['histogram', 'summary']],
    ] as const) {
      if (name.endsWith(suffix)) {
        const base = name.slice(0, -suffix.length);
        const f = families.get(base);
        if (f && (types as readonly string[]).includes(f.type)) return base;
      }
    }
    return name;
  };

  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (/^[ \t]*$/.test(line)) return;
    const trimmed = line.replace(/^[ \t]+/, '');
    if (trimmed.startsWith('#')) {
      if (line.includes('\r')) throw new PromParseError(lineNo, line, 'carriage return in line');
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t](.*))?$/.exec(trimmed);
      if (!m) {
        if (/^#[ \t]+(HELP|TYPE)\b/.test(trimmed)) throw new PromParseError(lineNo, line, 'malformed HELP/TYPE line');
        return; // plain comment
      }
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!)) throw new PromParseError(lineNo, line, `invalid metric name ${JSON.stringify(name)}`);
      let f = families.get(name!);
      if (f && f.samples.length > 0) {
        throw new PromParseError(lineNo, line, `${kind} for ${name} after its samples`);
      }
      enter(name!, lineNo, line);
      if (!f) {
        f = { name: name!, type: 'untyped', typed: false, samples: [] };
        families.set(name!, f);
      }
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new PromParseError(lineNo, line, `second HELP for ${name}`);
        f.help = unescapeHelp(rest, lineNo, line);
      } else {
        if (f.typed) throw new PromParseError(lineNo, line, `second TYPE for ${name}`);
        const t = rest.replace(/[ \t]+$/, '');
        if (!TYPES.has(t)) throw new PromParseError(lineNo, line, `unknown metric type ${JSON.stringify(t)}`);
        f.type = t as MetricType;
        f.typed = true;
      }
      return;
    }
    const s = parseSampleLine(trimmed, lineNo, line);
    s.family = familyOf(s.name);
    enter(s.family, lineNo, line);
    let f = families.get(s.family);
    if (!f) {
      f = { name: s.family, type: 'untyped', typed: false, samples: [] };
      families.set(s.family, f);
    }
    f.samples.push(s);
    samples.push(s);
  });
  return { samples, families };
}

function unescapeHelp(s: string, lineNo: number, line: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === '\\') out += '\\';
    else if (n === 'n') out += '\n';
    else throw new PromParseError(lineNo, line, `invalid escape \\${n ?? ''} in HELP`);
  }
  return out;
}

function parseSampleLine(s: string, lineNo: number, line: string): Sample {
  const fail = (reason: string): never => {
    throw new PromParseError(lineNo, line, reason);
  };
  let pos = 0;
  const skipBlanks = (): number => {
    const start = pos;
    while (pos < s.length && (s[pos] === ' ' || s[pos] === '\t')) pos++;
    return pos - start;
  };

  const nm = METRIC_NAME_PREFIX.exec(s);
  if (!nm) fail('expected a metric name');
  const name = nm![0];
  pos = name.length;
  const labels: Record<string, string> = {};
  let blanks = skipBlanks();
  let hadLabels = false;
  if (s[pos] === '{') {
    hadLabels = true;
    pos++;
    for (;;) {
      skipBlanks();
      if (s[pos] === '}') {
        pos++;
        break;
      }
      const ln = LABEL_NAME_PREFIX.exec(s.slice(pos));
      if (!ln) fail(`expected a label name at column ${pos + 1}`);
      const lname = ln![0];
      pos += lname.length;
      skipBlanks();
      if (s[pos] !== '=') fail(`expected "=" after label ${lname}`);
      pos++;
      skipBlanks();
      if (s[pos] !== '"') fail(`expected a quoted value for label ${lname}`);
      pos++;
      let value = '';
      for (;;) {
        if (pos >= s.length) fail(`unterminated value of label ${lname}`);
        const c = s[pos++]!;
        if (c === '"') break;
        if (c === '\\') {
          const n = s[pos++];
          if (n === '\\') value += '\\';
          else if (n === '"') value += '"';
          else if (n === 'n') value += '\n';
          else fail(`invalid escape \\${n ?? ''} in value of label ${lname}`);
        } else {
          value += c;
        }
      }
      if (Object.prototype.hasOwnProperty.call(labels, lname)) fail(`label ${lname} given twice`);
      labels[lname] = value;
      skipBlanks();
      if (s[pos] === ',') {
        pos++;
        continue;
      }
      if (s[pos] === '}') {
        pos++;
        break;
      }
      fail(`expected "," or "}" after label ${lname}`);
    }
  }
  if (hadLabels) blanks = skipBlanks();
  if (s.includes('\r', pos)) fail('carriage return in line');
  if (blanks === 0) fail(hadLabels ? 'expected a blank after "}"' : 'expected a blank after the metric name');
  const rest = s.slice(pos).replace(/[ \t]+$/, '');
  const parts = rest.split(/[ \t]+/);
  if (parts.length === 0 || parts[0] === '') fail('missing sample value');
  if (parts.length > 2) fail('trailing text after the timestamp');
  const value = parsePromValue(parts[0]!);
  if (value === undefined) fail(`invalid sample value ${JSON.stringify(parts[0])}`);
  const sample: Sample = { name, family: name, labels, value: value!, line: lineNo };
  if (parts.length === 2) {
    if (!TIMESTAMP.test(parts[1]!)) fail(`invalid timestamp ${JSON.stringify(parts[1])}`);
    sample.timestampMs = Number(parts[1]);
  }
  return sample;
}

/** The label set of a sample as one canonical string (sorted by label name). */
export function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

/**
 * Semantic rules of the exposition beyond the syntax; returns one message per problem.
 * - a sample name appears with the same label set only once;
 * - counter samples carry the family name and a value >= 0;
 * - histogram: only _bucket/_sum/_count; every series has _sum, _count and buckets with a
 *   numeric `le` including +Inf; bucket counts do not decrease as `le` grows;
 *   the +Inf bucket equals _count.
 */
export function validateExposition(expo: Exposition): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  for (const s of expo.samples) {
    const k = `${s.name}{${labelKey(s.labels)}}`;
    const prev = seen.get(k);
    if (prev !== undefined) problems.push(`line ${s.line}: duplicate sample ${k} (first on line ${prev})`);
    else seen.set(k, s.line);
  }
  for (const f of expo.families.values()) {
    if (f.type === 'counter') {
      for (const s of f.samples) {
        if (s.name !== f.name) problems.push(`line ${s.line}: sample ${s.name} in counter family ${f.name}`);
        if (!(s.value >= 0)) problems.push(`line ${s.line}: counter ${s.name} has value ${s.value}`);
      }
    }
    if (f.type !== 'histogram') continue;
    interface Series {
      buckets: { le: number; value: number; line: number }[];
      sum?: number;
      count?: number;
      line: number;
    }
    const series = new Map<string, Series>();
    const get = (labels: Record<string, string>, line: number): Series => {
      const k = labelKey(labels);
      let sr = series.get(k);
      if (!sr) series.set(k, (sr = { buckets: [], line }));
      return sr;
    };
    for (const s of f.samples) {
      if (s.name === `${f.name}_bucket`) {
        const { le, ...rest } = s.labels;
        if (le === undefined) {
          problems.push(`line ${s.line}: ${s.name} without le`);
          continue;
        }
        const bound = parsePromValue(le);
        if (bound === undefined || Number.isNaN(bound)) {
          problems.push(`line ${s.line}: ${s.name} has le=${JSON.stringify(le)}, not a number`);
          continue;
        }
        get(rest, s.line).buckets.push({ le: bound, value: s.value, line: s.line });
      } else if (s.name === `${f.name}_sum`) {
        get(s.labels, s.line).sum = s.value;
      } else if (s.name === `${f.name}_count`) {
        get(s.labels, s.line).count = s.value;
      } else {
        problems.push(`line ${s.line}: sample ${s.name} in histogram family ${f.name}`);
      }
    }
    for (const [k, sr] of series) {
      const where = `${f.name}{${k}} (line ${sr.line})`;
      if (sr.sum === undefined) problems.push(`${where}: no _sum`);
      if (sr.count === undefined) problems.push(`${where}: no _count`);
      const sorted = [...sr.buckets].sort((a, b) => a.le - b.le);
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i]!.le === sorted[i - 1]!.le) problems.push(`${where}: bucket le=${sorted[i]!.le} twice`);
        if (sorted[i]!.value < sorted[i - 1]!.value) {
          problems.push(`${where}: bucket le=${sorted[i]!.le} (${sorted[i]!.value}) < le=${sorted[i - 1]!.le} (${sorted[i - 1]!.value})`);
        }
      }
      const inf = sorted.find((b) => b.le === Infinity);
      if (!inf) problems.push(`${where}: no le="+Inf" bucket`);
      else if (sr.count !== undefined && inf.value !== sr.count) {
        problems.push(`${where}: +Inf bucket ${inf.value} != _count ${sr.count}`);
      }
    }
  }
  return problems;
}
