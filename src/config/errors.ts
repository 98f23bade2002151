// ConfigError: every problem found while loading the configuration, each naming where it came
// from (file:line:col, env var, flag) and the key path it concerns.

export interface ConfigIssue {
  /** Where the value came from: "spanmeter.yaml:4:7", "env SPANMETER_LOG_LEVEL", "--set", "--http-endpoint"; "" when not one source. */
  origin: string;
  /** Key path in the YAML schema: "processor.span_metrics.histogram_buckets[2]"; "" for the whole file or an argument. */
  path: string;
  /** What is wrong, e.g. `unknown key (did you mean histogram_buckets?)`. */
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const parts = ['config error'];
  if (issue.origin) parts.push(issue.origin);
  if (issue.path) parts.push(issue.path);
  parts.push(issue.message);
  return parts.join(': ');
}

/** Thrown by loadConfig. `message` is one line per issue, ready to print; the CLI exits 2. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate to `word`, if close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_.]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = norm(c) === norm(word) ? 0 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 4));
  return bestDistance <= limit ? best : undefined;
}

/** How a raw value reads in an error message: `string "x"`, `number 5`, `a list`, `null`. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}
