// The memory limiter (issue 21; the Collector's memory_limiter). Unit: where the available memory
// comes from (cgroup v2, v1, the machine), the limits the Collector's rules give, and the state a
// measurement sets. Sidecar: a sidecar with a 64 MiB soft limit is made to hold 72 MiB of request
// bodies by senders that stop half-way (their bytes are Buffers, which the limiter counts); then
// every sender gets 429 + Retry-After (HTTP) / UNAVAILABLE + RetryInfo (gRPC), /readyz is 503
// with the reason, and once the held bodies are gone it takes data again. Every span acknowledged
// with 200/OK is counted exactly once; nothing refused is counted.
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { availableMemory, memoryLimits, MemoryLimiter, type MemoryUse } from '../../src/net/memory.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { fetchMetricsText, postTraces, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { grpcCall, request, retryDelayMs } from './helpers.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

function cgroupTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'spanmeter-cgroup-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('availableMemory: the cgroup limit, else the machine (the Collector iruntime.TotalMemory)', () => {
  it('cgroup v2: memory.max of the process own cgroup (0::/path in /proc/self/cgroup)', () => {
    const root = cgroupTree({ 'cgroup.controllers': 'memory\n', 'kubepods/pod1/memory.max': '536870912\n', 'memory.max': 'max\n', proc: '0::/kubepods/pod1\n' });
    expect(availableMemory(root, join(root, 'proc'), 16 * GIB)).toEqual({ bytes: 512 * MIB, source: 'cgroup v2 memory.max' });
  });

  it('cgroup v2 "max" (no limit): the machine', () => {
    const root = cgroupTree({ 'cgroup.controllers': 'memory\n', 'memory.max': 'max\n', proc: '0::/\n' });
    expect(availableMemory(root, join(root, 'proc'), 16 * GIB)).toEqual({ bytes: 16 * GIB, source: 'machine' });
  });

  it('cgroup v1: memory.limit_in_bytes under the memory controller (N:memory:/path), else at its root', () => {
    const own = cgroupTree({ 'memory/docker/abc/memory.limit_in_bytes': '1073741824\n', proc: '4:memory:/docker/abc\n0::/\n' });
    expect(availableMemory(own, join(own, 'proc'), 16 * GIB)).toEqual({ bytes: GIB, source: 'cgroup v1 memory.limit_in_bytes' });
    // A container sees its own cgroup at the root (this machine: "4:memory:/process_api/…" with the limit at the root).
    const atRoot = cgroupTree({ 'memory/memory.limit_in_bytes': '2147483648\n', proc: '4:memory:/elsewhere\n' });
    expect(availableMemory(atRoot, join(atRoot, 'proc'), 16 * GIB)).toEqual({ bytes: 2 * GIB, source: 'cgroup v1 memory.limit_in_bytes' });
  });

  it('cgroup v1 unlimited (9223372036854771712, the value the Collector treats as unset) or above the machine: the machine', () => {
    const root = cgroupTree({ 'memory/memory.limit_in_bytes': '9223372036854771712\n', proc: '4:memory:/\n' });
    expect(availableMemory(root, join(root, 'proc'), 16 * GIB)).toEqual({ bytes: 16 * GIB, source: 'machine' });
    const big = cgroupTree({ 'memory/memory.limit_in_bytes': String(32 * GIB), proc: '4:memory:/\n' });
    expect(availableMemory(big, join(big, 'proc'), 16 * GIB)).toEqual({ bytes: 16 * GIB, source: 'machine' });
  });
});

describe('memoryLimits: the Collector rules (internal/memorylimiter newFixedMemUsageChecker)', () => {
  const machine = { bytes: 10_000 * MIB, source: 'machine' as const };
  const base = { check_interval: 1000, limit_mib: 0, spike_limit_mib: 0, limit_percentage: 0, spike_limit_percentage: 0 };
  it('limit_mib and spike_limit_mib: soft = limit - spike', () => {
    expect(memoryLimits({ ...base, limit_mib: 4000, spike_limit_mib: 800 }, machine)).toEqual({ hard: 4000 * MIB, soft: 3200 * MIB });
  });
  it('no spike: 20% of the limit', () => {
    expect(memoryLimits({ ...base, limit_mib: 1000 }, machine)).toEqual({ hard: 1000 * MIB, soft: 800 * MIB });
  });
  it('percentages of the available memory; limit_mib wins over them', () => {
    expect(memoryLimits({ ...base, limit_percentage: 80, spike_limit_percentage: 25 }, machine)).toEqual({ hard: 8000 * MIB, soft: 5500 * MIB });
    expect(memoryLimits({ ...base, limit_mib: 100, limit_percentage: 80 }, machine)).toEqual({ hard: 100 * MIB, soft: 80 * MIB });
    // The defaults: 80%, spike 20% of that: soft at 64% of the available memory.
    expect(memoryLimits({ ...base, limit_percentage: 80 }, machine)).toEqual({ hard: 8000 * MIB, soft: 6400 * MIB });
  });
});

describe('MemoryLimiter: refuses above the soft limit, forces a GC above the hard one', () => {
  const use = (used: number, heapUsed = 10 * MIB): MemoryUse => ({ used, heapUsed, heapLimit: 1000 * MIB, rss: used });
  it('below, above soft (GC at most every 10 s), above hard (GC every check), and back', () => {
    let current = use(50 * MIB);
    let gcs = 0;
    const gc = (): void => {
      gcs++;
    };
    const m = new MemoryLimiter({ soft: 80 * MIB, hard: 100 * MIB, checkIntervalMs: 1000, measure: () => current, gc });
    m.check();
    expect(m.refusing).toBeUndefined();
    current = use(85 * MIB);
    m.check();
    expect(m.refusing).toBe('memory in use 85 MiB is above the soft limit of 80 MiB (memory_limiter)');
    expect(gcs).toBe(1); // the first soft-limited check may GC
    m.check();
    expect(gcs).toBe(1); // not again within 10 s
    current = use(120 * MIB);
    m.check();
    m.check();
    expect(gcs).toBe(3); // above hard: every check
    expect(m.forcedGcs).toBe(3);
    current = use(60 * MIB);
    m.check();
    expect(m.refusing).toBeUndefined();
  });

  it('a GC that frees enough lets data in at once', () => {
    let current = use(120 * MIB);
    const m = new MemoryLimiter({ soft: 80 * MIB, hard: 100 * MIB, checkIntervalMs: 1000, measure: () => current, gc: () => { current = use(40 * MIB); } });
    m.check();
    expect(m.refusing).toBeUndefined();
    expect(m.last.used).toBe(40 * MIB);
  });

  it('the JS heap cap: refusing above 70% of it whatever the limits', () => {
    const m = new MemoryLimiter({ soft: 800 * MIB, hard: 1000 * MIB, checkIntervalMs: 1000, measure: () => use(720 * MIB, 720 * MIB), gc: () => {} });
    m.check();
    expect(m.refusing).toBe('JS heap in use 720 MiB is above 70% of its cap of 1000 MiB (--max-old-space-size)');
  });

  it('admit() counts refusals and measures again when the last check is older than the interval', () => {
    let current = use(90 * MIB);
    let measured = 0;
    const m = new MemoryLimiter({ soft: 80 * MIB, hard: 100 * MIB, checkIntervalMs: 1, measure: () => { measured++; return current; }, gc: () => {} });
    expect(m.admit()).toMatch(/above the soft limit/);
    expect(m.refused).toBe(1);
    current = use(10 * MIB);
    const before = measured;
    const t = performance.now();
    while (performance.now() - t < 2) { /* let the 1 ms interval pass */ }
    expect(m.admit()).toBeUndefined();
    expect(measured).toBeGreaterThan(before);
    expect(m.refused).toBe(1);
  });
});

// A POST that declares `declared` bytes and sends `sent` of them, then waits: its bytes stay in the
// sidecar (received chunks) until the connection ends.
function holdBody(otlpHttpUrl: string, declared: number, sent: number): http.ClientRequest {
  const url = new URL('/v1/traces', otlpHttpUrl);
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': String(declared) } });
  req.on('error', () => {});
  req.write(Buffer.alloc(sent, 0x0a));
  return req;
}

describe('a sidecar over its memory limit (issue 21)', () => {
  let sidecar: Sidecar | undefined;
  const held: http.ClientRequest[] = [];
  afterAll(async () => {
    for (const r of held) r.destroy();
    await sidecar?.stop();
  });

  it('refuses with 429 / UNAVAILABLE and a retry delay, /readyz 503, takes data again once memory falls; nothing lost or doubled', async () => {
    sidecar = await startSidecar({
      label: 'memory-limiter',
      grpc: true,
      config: { processors: ['span-metrics'], memory_limiter: { check_interval: '100ms', limit_mib: 96, spike_limit_mib: 32 } },
    });
    const s = sidecar;
    const readyz = async () => {
      const r = await fetch(`${s.httpUrl}/readyz`);
      return { status: r.status, body: (await r.json()) as { status: string; memory?: string } };
    };
    const health = async () => (await (await fetch(`${s.httpUrl}/healthz`)).json()) as { memory_used_bytes: number; memory_soft_limit_bytes: number };
    // Precondition: the idle sidecar is well under the 64 MiB soft limit (measured: ~19 MiB).
    expect((await health()).memory_used_bytes).toBeLessThan(40 * MIB);
    expect((await readyz()).status).toBe(200);
    let acknowledged = 0;
    const client = new grpc.Client(s.grpcEndpoint, grpc.credentials.createInsecure());
    try {
      // Accepted before: 10 spans over HTTP, 10 over gRPC.
      expect((await postTraces(s, request('svc', 10), 'application/x-protobuf')).status).toBe(200);
      expect((await grpcCall(client, request('svc', 10))).code).toBe(grpc.status.OK);
      acknowledged += 20;

      // 9 senders hold 8 MiB each of a 9 MiB body: 72 MiB over the ~19 MiB the sidecar holds idle.
      for (let i = 0; i < 9; i++) held.push(holdBody(s.otlpHttpUrl, 9 * MIB, 8 * MIB));
      const deadline = Date.now() + 20_000;
      while ((await readyz()).status === 200 && Date.now() < deadline) await sleep(50);
      const ready = await readyz();
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('not ready');
      expect(ready.body.memory).toMatch(/^refusing data: memory in use \d+(\.\d)? MiB is above the soft limit of 64 MiB \(memory_limiter\)$/);

      // HTTP: 429 with Retry-After and a Status carrying UNAVAILABLE and RetryInfo.
      const refused = await postTraces(s, request('svc', 7), 'application/x-protobuf');
      expect(refused.status).toBe(429);
      expect(retryDelayMs(refused.body)).toEqual({ code: grpc.status.UNAVAILABLE, delayMs: 1000 });
      expect(refused.text).toContain('above the soft limit of 64 MiB');
      // gRPC: UNAVAILABLE with RetryInfo in grpc-status-details-bin.
      const g = await grpcCall(client, request('svc', 7));
      expect(g.code).toBe(grpc.status.UNAVAILABLE);
      expect(g.details).toContain('above the soft limit of 64 MiB');
      expect(retryDelayMs(g.metadata!.get('grpc-status-details-bin')[0] as Buffer).delayMs).toBe(1000);

      // The held bodies go away: memory falls (a GC is forced above the hard limit, or every 10 s
      // above the soft one), and data is taken again.
      for (const r of held) r.destroy();
      const back = Date.now() + 30_000;
      while ((await readyz()).status !== 200 && Date.now() < back) await sleep(100);
      expect((await readyz()).status).toBe(200);
      expect((await postTraces(s, request('svc', 5), 'application/x-protobuf')).status).toBe(200);
      expect((await grpcCall(client, request('svc', 5))).code).toBe(grpc.status.OK);
      acknowledged += 10;
    } finally {
      client.close();
    }
    const samples = parsePrometheusText((await fetchMetricsText(s)).text).samples;
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
    // Every acknowledged span once (10 + 10 + 5 + 5), none of the refused 7 + 7.
    expect(value('traces_spanmetrics_calls_total', { service: 'svc' })).toBe(acknowledged);
    expect(value('spanmeter_memory_limiter_refused_total')).toBe(2);
    expect(value('spanmeter_requests_rejected_total', { protocol: 'http', reason: 'memory_limited' })).toBe(1);
    expect(value('spanmeter_requests_rejected_total', { protocol: 'grpc', reason: 'memory_limited' })).toBe(1);
    expect(value('spanmeter_memory_limit_bytes', { limit: 'soft' })).toBe(64 * MIB);
    expect(value('spanmeter_memory_limit_bytes', { limit: 'hard' })).toBe(96 * MIB);
    expect(value('spanmeter_memory_limiter_refusing')).toBe(0);
    expect(s.output()).toContain('refusing OTLP data');
    expect(s.output()).toContain('memory back under the soft limit');
  }, 90_000);
});
