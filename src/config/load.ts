// Loads the configuration. Sources, later wins: defaults < YAML file (--config or
// SPANMETER_CONFIG) < SPANMETER_* env vars < command-line flags (in argv order).
import { readFileSync } from 'node:fs';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { COLLECTOR_SPAN_METRICS_BUCKETS, defaultConfig } from './defaults.js';
import { ConfigError, closest, type ConfigIssue } from './errors.js';
import { FLAGS, type FlagSpec } from './flags.js';
import { LEAVES, SCHEMA, specAt, type Leaf } from './keys.js';
import { anySpec, pathString, walk, type AnyObjectSpec, type Assignment, type Path } from './spec.js';
import { checkSlos } from './slos.js';
import { checkDimensionDefaults, checkDimensionMappings, resolveLabelCollisions } from './labelnames.js';
import { translatePeerBlocks } from './peers.js';
import type { Config } from './types.js';
import { serviceGraphsOn } from './types.js';
import { splitEndpoint } from './values.js';

export interface LoadOptions {
  /** The arguments after the program name: process.argv.slice(2). */
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Reads the config file (default: fs.readFileSync(path, 'utf8')). */
  readFile?: (path: string) => string;
}

export type LoadResult =
  | {
      action: 'run';
      config: Config;
      /** The YAML file read, if any. */
      configFile: string | undefined;
      /** Settings that are valid but probably not what was meant; log them at warn. */
      warnings: string[];
      /** --demo: feed the sidecar synthetic traces (src/ui/demo.ts). */
      demo: boolean;
      /** --print-config: print the effective configuration (print.ts) and exit. */
      printConfig: boolean;
    }
  | { action: 'help' }
  | { action: 'version' };

const ENV_PREFIX = 'SPANMETER_';
const CONFIG_ENV = 'SPANMETER_CONFIG';

const LEAF_BY_KEY = new Map<string, Leaf>(LEAVES.map((l) => [l.key, l]));
const LEAF_BY_ENV = new Map<string, Leaf>(LEAVES.map((l) => [l.env, l]));

interface Setting {
  leaf: Leaf;
  text: string;
  origin: string;
}

/** Throws ConfigError listing every problem found. */
export function loadConfig(opts: LoadOptions): LoadResult {
  const issues: ConfigIssue[] = [];
  const args = parseArgv(opts.argv, issues);
  if (args.help) return { action: 'help' };
  if (args.version) return { action: 'version' };

  const assignments: Assignment[] = [];

  // 1. The YAML file.
  const envFile = opts.env[CONFIG_ENV];
  const configFile = args.configFile ?? (envFile ? envFile : undefined);
  const peerWarnings: string[] = [];
  if (configFile !== undefined) {
    readYamlFile(configFile, opts.readFile ?? ((p) => readFileSync(p, 'utf8')), issues, assignments, peerWarnings);
  }

  // 2. Env vars, in schema order; unknown SPANMETER_* names are errors.
  for (const name of Object.keys(opts.env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_ENV || LEAF_BY_ENV.has(name)) continue;
    const guess = closest(name, [...LEAF_BY_ENV.keys(), CONFIG_ENV]);
    issues.push({
      origin: `env ${name}`,
      path: '',
      message: `unknown variable${guess ? ` (did you mean ${guess}?)` : ''}`,
    });
  }
  const envSettings: Setting[] = [];
  for (const leaf of LEAVES) {
    const text = opts.env[leaf.env];
    if (text !== undefined) envSettings.push({ leaf, text, origin: `env ${leaf.env}` });
  }

  // 3. Env settings, then flags in argv order: later wins.
  for (const s of [...envSettings, ...args.settings]) {
    const report = (path: Path, message: string) => issues.push({ origin: s.origin, path: pathString(path), message });
    walk(s.leaf.spec, s.leaf.spec.fromText(s.text), s.leaf.path, report, assignments);
  }

  const merged = merge(assignments, issues);
  const { config, assigned } = merged;
  const warnings = [...peerWarnings, ...merged.warnings, ...warningsFor(config, assigned)];
  return { action: 'run', config, configFile, warnings, demo: args.demo, printConfig: args.printConfig };
}

/**
 * The in-process configuration (Spanmeter.create, src/index.ts): a plain object holding some of
 * the keys, `keys`; checked and merged as loadConfig checks and merges the file. A key of the
 * sidecar's outside `keys` is refused. Throws ConfigError.
 */
export function loadObject(input: unknown, origin: string, keys: readonly (keyof Config)[]): Config {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError([{ origin, path: '', message: 'expected a config object' }]);
  }
  const issues: ConfigIssue[] = [];
  const report = (path: Path, message: string) => issues.push({ origin, path: pathString(path), message });
  const root = anySpec(SCHEMA);
  const allowed: AnyObjectSpec = { kind: 'object', fields: {} };
  for (const key of keys) allowed.fields[key] = root.fields[key]!;
  const assignments: Assignment[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (Object.hasOwn(allowed.fields, key)) walk(allowed.fields[key]!, value, [key], report, assignments);
    else if (Object.hasOwn(root.fields, key)) report([key], 'configures the sidecar, not the in-process Spanmeter');
    else walk(allowed, { [key]: value }, [], report, assignments); // "unknown key (did you mean …)"
  }
  return merge(assignments, issues).config;
}

/**
 * The defaults with the checked assignments over them, in order (later wins), then the checks
 * that span keys. Throws ConfigError if `issues` (from the sources) or these checks found any.
 */
function merge(
  assignments: readonly Assignment[], issues: ConfigIssue[],
): { config: Config; assigned: Set<string>; warnings: string[] } {
  if (issues.length > 0) throw new ConfigError(issues);
  const config = defaultConfig();
  const assigned = new Set<string>();
  for (const a of assignments) {
    setIn(config, a.path, a.value);
    assigned.add(a.path.join('.'));
  }
  checkEndpointsDistinct(config, issues);
  checkSecurity(config, issues);
  checkMemoryLimiter(config, issues);
  checkSlos(config.slos, issues);
  issues.push(...checkDimensionDefaults(config), ...checkDimensionMappings(config));
  if (issues.length > 0) throw new ConfigError(issues);
  // The Collector's scheme comes with the Collector's default latency buckets.
  if (config.naming === 'otel' && !assigned.has('processor.span_metrics.histogram_buckets')) {
    config.processor.span_metrics.histogram_buckets = [...COLLECTOR_SPAN_METRICS_BUCKETS];
  }
  const warnings = resolveLabelCollisions(config);
  return { config, assigned, warnings };
}

// ---------------------------------------------------------------------------------------------
// argv

interface Args {
  help: boolean;
  version: boolean;
  demo: boolean;
  printConfig: boolean;
  configFile: string | undefined;
  settings: Setting[];
}

const FLAG_BY_NAME = new Map<string, FlagSpec>();
for (const f of FLAGS) {
  FLAG_BY_NAME.set(f.name, f);
  if (f.alias) FLAG_BY_NAME.set(f.alias, f);
}

function unknownFlagMessage(name: string): string {
  const bare = name.replace(/^-+/, '');
  if (bare === 'config' || bare === 'config.file') return 'unknown flag (did you mean --config?)';
  const guess = closest(
    bare,
    FLAGS.map((f) => f.name.slice(2)),
  );
  return guess ? `unknown flag (did you mean --${guess}?)` : 'unknown flag (see --help)';
}

function parseArgv(argv: readonly string[], issues: ConfigIssue[]): Args {
  const args: Args = { help: false, version: false, demo: false, printConfig: false, configFile: undefined, settings: [] };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('-') || token === '-' || token === '--') {
      const hint = token === 'rules' ? 'a subcommand comes first: spanmeter rules --config FILE' : 'the config file is given with --config FILE';
      issues.push({ origin: '', path: '', message: `unexpected argument ${JSON.stringify(token)} (${hint})` });
      continue;
    }
    const eq = token.indexOf('=');
    const name = eq < 0 ? token : token.slice(0, eq);
    const flag = FLAG_BY_NAME.get(name);
    if (!flag) {
      issues.push({ origin: name, path: '', message: unknownFlagMessage(name) });
      // Its value, if it has one, goes with it: `--processor span-metrics` is one mistake, not
      // also an "unexpected argument" (spanmeter takes no positional arguments).
      if (eq < 0 && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) i++;
      continue;
    }
    if (!flag.arg) {
      if (eq >= 0) issues.push({ origin: flag.name, path: '', message: 'takes no value' });
      else if (flag.name === '--help') args.help = true;
      else if (flag.name === '--demo') args.demo = true;
      else if (flag.name === '--print-config') args.printConfig = true;
      else args.version = true;
      continue;
    }
    let value: string;
    if (eq >= 0) {
      value = token.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) {
      value = argv[++i]!;
    } else {
      issues.push({ origin: flag.name, path: '', message: `missing value (${flag.name} ${flag.arg})` });
      continue;
    }
    if (flag.name === '--config') {
      args.configFile = value;
    } else if (flag.key) {
      args.settings.push({ leaf: LEAF_BY_KEY.get(flag.key)!, text: value, origin: flag.name });
    } else {
      const setting = parseSet(value, issues);
      if (setting) args.settings.push(setting);
    }
  }
  return args;
}

function parseSet(value: string, issues: ConfigIssue[]): Setting | undefined {
  const eq = value.indexOf('=');
  if (eq <= 0) {
    issues.push({ origin: '--set', path: '', message: `expected KEY=VALUE, got ${JSON.stringify(value)}` });
    return undefined;
  }
  const key = value.slice(0, eq).trim();
  const leaf = LEAF_BY_KEY.get(key);
  if (leaf) return { leaf, text: value.slice(eq + 1), origin: '--set' };
  const spec = specAt(key);
  let message: string;
  if (spec?.kind === 'object') {
    const example = LEAVES.find((l) => l.key.startsWith(`${key}.`))!.key;
    message = `a section, not a value: set its keys one by one (e.g. ${example}=...)`;
  } else {
    const guess = closest(key, LEAF_BY_KEY.keys());
    message = `unknown key${guess ? ` (did you mean ${guess}?)` : ''}`;
  }
  issues.push({ origin: '--set', path: key, message });
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The YAML file

function readYamlFile(
  file: string, readFile: (path: string) => string, issues: ConfigIssue[], out: Assignment[], warnings: string[],
): void {
  let text: string;
  try {
    text = readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
    issues.push({ origin: file, path: '', message: `cannot read the config file: ${why}` });
    return;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  const err = doc.errors[0]; // the first only: later ones are mostly its echoes
  if (err) {
    const pos = err.linePos?.[0];
    const at = err.message.indexOf(' at line ');
    issues.push({
      origin: pos ? `${file}:${pos.line}:${pos.col}` : file,
      path: '',
      message: `invalid YAML: ${at >= 0 ? err.message.slice(0, at) : err.message.split('\n')[0]}`,
    });
    return;
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 1000 });
  const report = (path: Path, message: string, atKey = false) => {
    const pos = locate(doc, path, atKey);
    const { line, col } = pos === undefined ? { line: 0, col: 0 } : lineCounter.linePos(pos);
    issues.push({ origin: pos === undefined ? file : `${file}:${line}:${col}`, path: pathString(path), message });
  };
  // Tempo's metrics_generator / overrides blocks and the Collector's connectors, as pasted.
  const rest = translatePeerBlocks(raw, report, out, warnings);
  walk(anySpec(SCHEMA), rest, [], report, out);
}

/** Offset in the source of the node at `path` (of its key if atKey). */
function locate(doc: Document, path: Path, atKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let last: number | undefined = (node as Node | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      node = atKey && i === path.length - 1 ? pair.key : (pair.value ?? pair.key);
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      break;
    }
    const start = (node as Node | null | undefined)?.range?.[0];
    if (start !== undefined) last = start;
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// Merging and checks on the merged result

function setIn(target: object, path: readonly string[], value: unknown): void {
  let obj = target as Record<string, unknown>;
  for (const seg of path.slice(0, -1)) obj = obj[seg] as Record<string, unknown>;
  obj[path[path.length - 1]!] = value;
}

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::']); // '' is ":4318"

/** TLS needs both a certificate and a key (and mTLS a certificate); a token comes from one place. */
function checkSecurity(config: Config, issues: ConfigIssue[]): void {
  for (const [prefix, tls] of [['otlp.tls', config.otlp.tls], ['tls', config.tls]] as const) {
    if ((tls.cert_file === '') !== (tls.key_file === '')) {
      issues.push({ origin: '', path: prefix, message: 'cert_file and key_file must be given together' });
    } else if (tls.client_ca_file !== '' && tls.cert_file === '') {
      issues.push({ origin: '', path: `${prefix}.client_ca_file`, message: 'needs cert_file and key_file (mTLS runs over TLS)' });
    }
  }
  for (const [prefix, auth] of [['otlp.auth', config.otlp.auth], ['http_auth', config.http_auth]] as const) {
    if (auth.bearer_token !== '' && auth.bearer_token_file !== '') {
      issues.push({ origin: '', path: prefix, message: 'give bearer_token or bearer_token_file, not both' });
    }
  }
}

/** The Collector's memory_limiter checks (internal/memorylimiter/config.go Validate), by key. */
function checkMemoryLimiter(config: Config, issues: ConfigIssue[]): void {
  const m = config.memory_limiter;
  if (m.check_interval === 0) return; // off
  const at = (key: string, message: string) => issues.push({ origin: '', path: `memory_limiter.${key}`, message });
  if (m.limit_mib === 0 && m.limit_percentage === 0) at('limit_mib', 'limit_mib or limit_percentage must be greater than zero (check_interval: 0s turns the limiter off)');
  if (m.limit_percentage > 100) at('limit_percentage', `must be at most 100, got ${m.limit_percentage}`);
  if (m.spike_limit_percentage > 100) at('spike_limit_percentage', `must be at most 100, got ${m.spike_limit_percentage}`);
  if (m.limit_mib > 0 && m.spike_limit_mib >= m.limit_mib) at('spike_limit_mib', `must be smaller than limit_mib (${m.limit_mib}), got ${m.spike_limit_mib}`);
  if (m.limit_mib === 0 && m.limit_percentage > 0 && m.spike_limit_percentage >= m.limit_percentage) {
    at('spike_limit_percentage', `must be smaller than limit_percentage (${m.limit_percentage}), got ${m.spike_limit_percentage}`);
  }
}

function checkEndpointsDistinct(config: Config, issues: ConfigIssue[]): void {
  const endpoints: [string, string][] = [
    ['otlp.http_endpoint', config.otlp.http_endpoint],
    ['otlp.grpc_endpoint', config.otlp.grpc_endpoint],
    ['http_endpoint', config.http_endpoint],
  ];
  const seen: { key: string; host: string; port: number }[] = [];
  for (const [key, value] of endpoints) {
    if (value === '') continue;
    const { host, port } = splitEndpoint(value);
    if (port === 0) continue;
    const clash = seen.find(
      (s) => s.port === port && (s.host === host || WILDCARD_HOSTS.has(s.host) || WILDCARD_HOSTS.has(host)),
    );
    if (clash) {
      issues.push({ origin: '', path: key, message: `${JSON.stringify(value)} clashes with ${clash.key} (same port)` });
    }
    seen.push({ key, host, port });
  }
}

function warningsFor(config: Config, assigned: Set<string>): string[] {
  const warnings: string[] = [];
  const blocks: [string, string, boolean][] = [
    ['span_metrics', 'span-metrics', config.processors.includes('span-metrics')],
    ['service_graphs', 'service-graphs', serviceGraphsOn(config.processors)],
  ];
  // Self time waits processor.service_graphs.wait, service graphs on or not.
  const selfTime = config.processors.includes('span-metrics') && config.processor.span_metrics.self_time === true;
  for (const [block, processor, on] of blocks) {
    const prefix = `processor.${block}.`;
    if (on) continue;
    if ([...assigned].some((k) => k.startsWith(prefix) && !(selfTime && k === 'processor.service_graphs.wait'))) {
      warnings.push(`processor.${block} is configured but ${processor} is not in processors: it has no effect`);
    }
  }
  if (assigned.has('processor.span_metrics.self_time_max_items') && config.processor.span_metrics.self_time !== true) {
    warnings.push('processor.span_metrics.self_time_max_items is set but self_time is not: it has no effect');
  }
  warnings.push(...exporterWarnings(config, assigned));
  return warnings;
}

/** Exporter settings given without the exporter they belong to. */
function exporterWarnings(config: Config, assigned: Set<string>): string[] {
  const warnings: string[] = [];
  const remoteWrite = config.remote_write.length > 0;
  const otlpPush = config.otlp_metrics.endpoint !== '';
  if (!remoteWrite && assigned.has('collection_interval')) {
    warnings.push('collection_interval is set but remote_write lists no receiver: it has no effect');
  }
  for (const key of ['external_labels', 'instance']) {
    if (!remoteWrite && !otlpPush && assigned.has(key)) {
      warnings.push(`${key} is set but neither remote_write nor otlp_metrics.endpoint is: it has no effect (/metrics never carries it)`);
    }
  }
  if (!otlpPush && [...assigned].some((k) => k.startsWith('otlp_metrics.') && k !== 'otlp_metrics.endpoint')) {
    warnings.push('otlp_metrics is configured but otlp_metrics.endpoint is "": the OTLP metrics push is off');
  }
  return warnings;
}
