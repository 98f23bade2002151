// A real Prometheus (Debian package, /usr/bin/prometheus; PROMETHEUS_BIN overrides) on a free
// loopback port with a temporary storage directory, and its HTTP query API. Without the binary,
// tests skip unless CI is set (then they fail).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, sleep } from './sidecar.js';

export const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const HAVE_PROMETHEUS = existsSync(PROMETHEUS);
/** promtool, from the same package (PROMTOOL_BIN overrides). */
export const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
export const HAVE_PROMTOOL = existsSync(PROMTOOL);
export const IN_CI = !!process.env.CI;

export interface Prom {
  url: string;
  output(): string;
  /** Replaces prometheus.yml and reloads it (SIGHUP); resolves once the new config is in use. */
  reload(config: string): Promise<void>;
  stop(): Promise<void>;
}

export interface PromOptions {
  /** Extra command-line flags, e.g. --web.enable-remote-write-receiver. */
  flags?: string[];
  /** The prometheus.yml text (default: a global block and no scrape jobs). */
  config?: string;
}

/** A prometheus.yml scraping `targets` (host:port) as job spanmeter, every second, with these rule files loaded. */
export function scrapeConfig(targets: readonly string[], ruleFiles: readonly string[] = []): string {
  return [
    'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}',
    ...(ruleFiles.length > 0 ? ['rule_files:', ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
    'scrape_configs:',
    '  - job_name: spanmeter',
    `    static_configs: [{targets: ${JSON.stringify(targets)}}]`,
    '',
  ].join('\n');
}

export async function startPrometheus(opts: PromOptions = {}): Promise<Prom> {
  const [port] = await freePorts(1);
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-prom-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, opts.config ?? 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n');
  let out = '';
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(opts.flags ?? []),
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const append = (b: Buffer): void => {
    out = (out + b.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let exited = false;
  const done = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (e) => {
      append(Buffer.from(`spawn error: ${e.message}\n`));
      exited = true;
      resolve();
    });
  });
  const kill = (sig: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      /* gone */
    }
  };
  const onExit = (): void => kill('SIGKILL');
  process.once('exit', onExit);
  void done.then(() => process.off('exit', onExit));
  const loadedConfig = async (): Promise<string> => {
    const res = await fetch(`${prom.url}/api/v1/status/config`, { signal: AbortSignal.timeout(5000) });
    return ((await res.json()) as { data: { yaml: string } }).data.yaml;
  };
  const prom: Prom = {
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    async reload(config) {
      const before = await loadedConfig();
      writeFileSync(configFile, config);
      if (child.pid !== undefined) process.kill(child.pid, 'SIGHUP');
      const deadline = Date.now() + 10_000;
      while ((await loadedConfig()) === before) {
        if (Date.now() > deadline) throw new Error(`prometheus did not load the new config within 10 s:\n${out}`);
        await sleep(100);
      }
    },
    async stop() {
      if (!exited) {
        kill('SIGTERM');
        const t = setTimeout(() => kill('SIGKILL'), 5000);
        await done;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await prom.stop();
      throw new Error(`prometheus exited at start-up:\n${out}`);
    }
    try {
      const res = await fetch(`${prom.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return prom;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await prom.stop();
      throw new Error(`prometheus not ready within 30 s:\n${out}`);
    }
    await sleep(200);
  }
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}
export interface QueryResult {
  status: string;
  data?: { resultType: 'vector' | 'matrix' | 'scalar' | 'string'; result: (VectorSample | MatrixSeries)[] };
  error?: string;
}

/** An instant query, at `time` (epoch seconds) or now. */
export async function query(prom: Prom, q: string, time?: number): Promise<QueryResult> {
  const at = time === undefined ? '' : `&time=${time}`;
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}${at}`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as QueryResult;
}

export function vector(r: QueryResult): VectorSample[] {
  if (r.status !== 'success' || r.data?.resultType !== 'vector') throw new Error(`not a vector: ${JSON.stringify(r)}`);
  return r.data.result as VectorSample[];
}

export function matrix(r: QueryResult): MatrixSeries[] {
  if (r.status !== 'success' || r.data?.resultType !== 'matrix') throw new Error(`not a matrix: ${JSON.stringify(r)}`);
  return r.data.result as MatrixSeries[];
}

/** Polls `q` until `accept` holds for its vector (or the time runs out); returns the last vector. */
export async function waitForVector(
  prom: Prom,
  q: string,
  accept: (v: VectorSample[]) => boolean,
  timeoutMs = 30_000,
): Promise<VectorSample[]> {
  const deadline = Date.now() + timeoutMs;
  let last: VectorSample[] = [];
  for (;;) {
    last = vector(await query(prom, q));
    if (accept(last) || Date.now() > deadline) return last;
    await sleep(250);
  }
}
