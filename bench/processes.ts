// Child processes of the benchmark and the soak run: free ports, a receiver (the sidecar or the
// HTTP sink) in its own process group, its CPU time and resident memory from /proc.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SenderResult } from './sender.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** CPU seconds used by a process so far (Linux), or NaN. */
export function cpuSeconds(pid: number, ticks: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / ticks;
  } catch {
    return NaN;
  }
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* gone */
  }
}

export interface Receiver {
  child: ChildProcess;
  url: string;
  /** host:port of its OTLP/gRPC receiver, when it has one. */
  grpc?: string;
  metrics?: string;
  stop: () => Promise<void>;
}

/** Spawns a receiver (a Node script, or `exe`) in its own process group; resolves once `ready` says it serves. */
export async function spawnReceiver(args: string[], name: string, ready: (out: string) => Promise<boolean>, exe = process.execPath): Promise<Omit<Receiver, 'url'>> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPANMETER_')));
  const child = spawn(exe, args, { cwd: PROJECT_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-20_000); });
  child.stderr!.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-20_000); });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);
  const stop = async () => {
    if (!exited) {
      killGroup(child, 'SIGTERM');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    }
    process.removeListener('exit', onExit);
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`${name} exited before it was ready:\n${out}`);
    if (await ready(out)) return { child, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} was not ready within 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The sidecar (bin/spanmeter.js) with OTLP/HTTP and /metrics on free loopback ports, its config
 * written to `dir`: both processors, log level warn and no series limit (the Collector beside it
 * has none; the default 200,000 would fold the 100,000-label-set level), unless `config`
 * (top-level YAML lines) says otherwise.
 */
export async function startSidecar(dir: string, config = ['processors: [span-metrics, service-graphs]', 'log_level: warn', 'registry: {max_active_series: 0}'], grpc = false): Promise<Receiver> {
  const [pHttp, pMetrics, pGrpc] = await freePorts(3);
  const configPath = join(dir, 'spanmeter.yaml');
  writeFileSync(configPath, [
    'otlp:',
    `  http_endpoint: 127.0.0.1:${pHttp}`,
    `  grpc_endpoint: ${grpc ? `127.0.0.1:${pGrpc}` : '""'}`,
    `http_endpoint: 127.0.0.1:${pMetrics}`,
    ...config,
    '',
  ].join('\n'));
  const metrics = `http://127.0.0.1:${pMetrics}`;
  const r = await spawnReceiver(['bin/spanmeter.js', '--config', configPath], 'the sidecar', async () => {
    try {
      const res = await fetch(`${metrics}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  });
  return { ...r, url: `http://127.0.0.1:${pHttp}/v1/traces`, grpc: grpc ? `127.0.0.1:${pGrpc}` : undefined, metrics };
}

/**
 * Runs a load generator (bench/sender.ts, bench/grpc-sender.ts) as a second Node process: calls
 * onMark at its "W" and "E" lines (the measured window's ends) and resolves with its JSON line.
 */
export function runSender(script: string, args: string[], onMark: (m: 'W' | 'E') => void): Promise<SenderResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let err = '';
    let result: SenderResult | undefined;
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'W' || line === 'E') onMark(line);
        else if (line.startsWith('{')) result = JSON.parse(line) as SenderResult;
      }
    });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0 && result) resolve(result);
      else reject(new Error(`${script} exited with code ${code}: ${err}`));
    });
  });
}

/**
 * Runs a load generator (runSender) for warmupS + durationS, gzip bodies or not, against the
 * receiving process `pid`: its result and the CPU-seconds `pid` used in the measured window.
 */
export async function measureLoad(
  script: string, args: string[], o: { warmupS: number; durationS: number; gzip: boolean }, pid: number,
): Promise<{ res: SenderResult; cpuSeconds: number }> {
  const ticks = clockTicks();
  let cpuW = NaN;
  let cpuE = NaN;
  const res = await runSender(script, [
    ...args,
    '--warmup', String(Math.round(o.warmupS * 1000)),
    '--duration', String(Math.round(o.durationS * 1000)),
    ...(o.gzip ? ['--gzip'] : []),
  ], (m) => {
    if (m === 'W') cpuW = cpuSeconds(pid, ticks);
    else cpuE = cpuSeconds(pid, ticks);
  });
  return { res, cpuSeconds: cpuE - cpuW };
}

/** Resident memory of a process (Linux /proc VmRSS, or VmHWM: its peak), bytes, or NaN. */
export function residentBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
