// Runs the real OpenTelemetry Collector (built by `npm run interop:build` from
// interop/otelcol/manifest.yaml) as a child process for the interop tests.
//
// startOtelcol writes the config to a temp file, starts `otelcol-spanmeter --config FILE` in its
// own process group with stdout+stderr captured, and resolves once the Collector is ready:
//   - it logged "Everything is ready" (the service logs it after every component's Start returned,
//     i.e. after every receiver and the prometheus exporter bound their ports), and
//   - every loopback TCP endpoint found in the config accepts a connection (receivers' protocols,
//     exporters' `endpoint` when it is a listener: prometheus; extensions' endpoints; the
//     telemetry pull reader's host:port), and
//   - when the health_check extension is enabled, its endpoint answers 200.
// It rejects with the Collector's logs when the process exits first or the wait times out.
//
// The Collector's own metrics (otelcol_receiver_accepted_spans, otelcol_exporter_sent_spans, ...):
// put `telemetryConfig(port)` under `service.telemetry` and read them with `otelcolTelemetry(port)`.
// A config without `service.telemetry.metrics` gets `level: none` (no listener on :8888).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { otelcolBinaryPath } from '../../../interop/paths.mjs';
import { parsePrometheusText, type Sample } from '../../support/prom-text.js';
import { killGroupOnExit, terminateGroup, watchExit } from '../../support/sidecar.js';

export { freePorts, startSidecar } from '../../support/sidecar.js';

/** Absolute path of the built Collector; throws when `npm run interop:build` has not run. */
export function otelcolBinary(): string {
  const bin = process.env.OTELCOL_BIN ?? otelcolBinaryPath();
  if (!existsSync(bin)) {
    throw new Error(
      `the Collector is not built: ${bin} is missing; run \`npm run interop:build\` first ` +
        '(it needs Go; see README "Interop tests")',
    );
  }
  return bin;
}

export interface Otelcol {
  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and waits for its exit. Safe to call twice. */
  stop(): Promise<void>;
  /** Captured stdout+stderr (tail kept). */
  logs(): string;
  /** True while the process has not exited. */
  alive(): boolean;
  readonly pid: number;
  /** The YAML the Collector was started with. */
  readonly configText: string;
}

export interface OtelcolOptions {
  /** A name for messages. */
  label?: string;
  /** How long to wait for readiness (default 60 s). */
  readyTimeoutMs?: number;
}

const OUTPUT_LIMIT = 512 * 1024;

/** host:port strings of loopback listeners named in a Collector config. */
export function listenEndpoints(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string' && /^(127\.0\.0\.1|localhost):\d+$/.test(v)) out.push(v);
  };
  const section = (name: string): Record<string, Record<string, unknown>> =>
    ((config[name] ?? {}) as Record<string, Record<string, unknown>>);
  for (const r of Object.values(section('receivers'))) {
    const protocols = (r?.protocols ?? {}) as Record<string, { endpoint?: unknown } | null>;
    for (const p of Object.values(protocols)) add(p?.endpoint);
  }
  for (const [name, e] of Object.entries(section('exporters'))) {
    // only the prometheus exporter listens; the others' endpoints are where they send
    if (name === 'prometheus' || name.startsWith('prometheus/')) add(e?.endpoint);
  }
  const service = (config.service ?? {}) as Record<string, unknown>;
  const enabled = new Set((service.extensions ?? []) as string[]);
  for (const [name, e] of Object.entries(section('extensions'))) if (enabled.has(name)) add(e?.endpoint);
  const readers = ((service.telemetry as { metrics?: { readers?: unknown[] } } | undefined)?.metrics?.readers ?? []) as {
    pull?: { exporter?: { prometheus?: { host?: string; port?: number } } };
  }[];
  for (const r of readers) {
    const p = r.pull?.exporter?.prometheus;
    if (p?.port) add(`${p.host ?? '127.0.0.1'}:${p.port}`);
  }
  return out;
}

/** The health_check extension's URL when the config enables it. */
function healthUrl(config: Record<string, unknown>): string | undefined {
  const service = (config.service ?? {}) as { extensions?: string[] };
  const name = (service.extensions ?? []).find((n) => n === 'health_check' || n.startsWith('health_check/'));
  if (!name) return undefined;
  const ext = ((config.extensions ?? {}) as Record<string, { endpoint?: string; path?: string } | null>)[name];
  const endpoint = ext?.endpoint ?? '127.0.0.1:13133';
  return `http://${endpoint}${ext?.path ?? '/'}`;
}

function tcpAccepts(hostPort: string): Promise<boolean> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Starts the Collector with this config (YAML text or an object serialized to YAML) and waits
 * until it is ready (see the header); rejects with its logs if it exits or is not ready in time.
 */
export async function startOtelcol(config: string | Record<string, unknown>, opts: OtelcolOptions = {}): Promise<Otelcol> {
  const bin = otelcolBinary();
  const parsed = (typeof config === 'string' ? YAML.parse(config) ?? {} : structuredClone(config)) as Record<string, unknown>;
  // Without a metrics setting the Collector serves its own metrics on localhost:8888, which two
  // Collectors (or a second test file) would fight over: off unless the config says otherwise.
  const service = (parsed.service ??= {}) as Record<string, unknown>;
  const telemetry = (service.telemetry ??= {}) as Record<string, unknown>;
  let configText = typeof config === 'string' ? config : YAML.stringify(config);
  if (telemetry.metrics === undefined) {
    telemetry.metrics = { level: 'none' };
    configText = YAML.stringify(parsed);
  }
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-otelcol-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, configText);

  let out = '';
  const append = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_LIMIT) out = '…' + out.slice(out.length - OUTPUT_LIMIT);
  };
  const child = spawn(bin, ['--config', configPath], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  killGroupOnExit(child);
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const { exited, status: exitStatus } = watchExit(child, append);

  let stopped = false;
  const otelcol: Otelcol = {
    pid: child.pid ?? -1,
    configText,
    logs: () => out,
    alive: () => exitStatus() === undefined,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (exitStatus() === undefined) await terminateGroup(child, exited, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const label = opts.label ? `${opts.label}: ` : '';
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const endpoints = listenEndpoints(parsed);
  const health = healthUrl(parsed);
  let waitingFor = '';
  for (;;) {
    const exit = exitStatus();
    if (exit !== undefined) {
      await otelcol.stop();
      throw new Error(
        `${label}the Collector exited before it was ready (code ${exit.code}, signal ${exit.signal})\n` +
          `config:\n${configText}\nlogs:\n${out}`,
      );
    }
    waitingFor = '';
    if (!out.includes('Everything is ready')) waitingFor = 'the log line "Everything is ready"';
    else {
      for (const e of endpoints) {
        if (!(await tcpAccepts(e))) {
          waitingFor = `a listener on ${e}`;
          break;
        }
      }
      if (!waitingFor && health) {
        const status = await fetch(health, { signal: AbortSignal.timeout(1000) })
          .then(async (r) => (await r.arrayBuffer(), r.status))
          .catch(() => 0);
        if (status !== 200) waitingFor = `200 from ${health} (last: ${status})`;
      }
      if (!waitingFor) return otelcol;
    }
    if (Date.now() > deadline) {
      await otelcol.stop();
      throw new Error(
        `${label}the Collector was not ready within ${timeoutMs / 1000} s (waiting for ${waitingFor})\n` +
          `config:\n${configText}\nlogs:\n${out}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `service.telemetry` for a Collector whose own metrics are served in the Prometheus text format
 * on 127.0.0.1:`port` (the config shape of the Collector's telemetry since v0.111: metrics
 * readers, here one pull reader with a Prometheus exporter); logs at `logLevel` (default info).
 */
export function telemetryConfig(port: number, logLevel = 'info'): Record<string, unknown> {
  return {
    logs: { level: logLevel },
    metrics: {
      level: 'detailed',
      readers: [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port } } } }],
    },
  };
}

/** The Collector's own metrics from its telemetry endpoint on 127.0.0.1:`port` (text format). */
export async function otelcolTelemetry(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { accept: 'text/plain;version=0.0.4' },
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET :${port}/metrics answered ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

/**
 * The samples of one of the Collector's own counters, e.g. `otelcol_receiver_accepted_spans`.
 * The Collector's Prometheus reader appends `_total` to counters; both spellings are accepted.
 */
export function telemetrySamples(text: string, name: string, labels: Record<string, string> = {}): Sample[] {
  const names = new Set([name, `${name}_total`, name.replace(/_total$/, '')]);
  return parsePrometheusText(text).samples.filter(
    (s) => names.has(s.name) && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of a counter of the Collector's own metrics over the series matching `labels`. */
export function telemetrySum(text: string, name: string, labels: Record<string, string> = {}): number {
  return telemetrySamples(text, name, labels).reduce((a, s) => a + s.value, 0);
}
