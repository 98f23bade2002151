// The OTLP/HTTP fast path reads into buffers it owns (src/net/reads.ts) rather than into a new
// 64 KiB ArrayBuffer per socket read. A body kept in those ArrayBuffers across reads outlived
// scavenges, and external memory held by old objects counts toward V8's old-generation limit:
// under the bench's load (4 connections, each sending its next 221 KB request when answered) V8 ran
// a full GC every ~125 requests (issue 20: 35 mark-compacts in 4,140 requests with --trace-gc on
// main 36c03d3; none in 7,706 with the buffers owned).
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { generateWorkload } from '../../src/workload/workload.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { fetchMetricsText, startSidecar, type Sidecar } from '../support/sidecar.js';

describe('socket reads into owned buffers', () => {
  let s: Sidecar | undefined;
  afterAll(async () => {
    await s?.stop();
  });

  const majorGcs = async (): Promise<number> => {
    const samples = parsePrometheusText((await fetchMetricsText(s!)).text).samples;
    // prom-client's nodejs_gc_duration_seconds, from perf_hooks' gc entries: kind major = mark-compact.
    return samples.find((x) => x.name === 'nodejs_gc_duration_seconds_count' && x.labels.kind === 'major')?.value ?? 0;
  };

  /** `n` requests over 4 keep-alive connections, each sending its next one when answered (as bench/sender.ts). */
  const send = async (bodies: Uint8Array[], n: number): Promise<void> => {
    const url = new URL('/v1/traces', s!.otlpHttpUrl);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    let next = 0;
    const one = (b: Uint8Array) => new Promise<number>((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': b.byteLength } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(b);
    });
    const loop = async (): Promise<void> => {
      while (next < n) expect(await one(bodies[next++ % bodies.length]!)).toBe(200);
    };
    await Promise.all([loop(), loop(), loop(), loop()]);
    agent.destroy();
  };

  it('1,000 requests of 512 spans (~220 MB of bodies) over 4 busy connections set off at most 2 full GCs', async () => {
    s = await startSidecar({ label: 'read-buffers', config: { processors: ['span-metrics', 'service-graphs'] } });
    const w = generateWorkload({ seed: 5, batches: 20, spansPerBatch: 512 });
    expect(w.batches.reduce((n, b) => n + b.byteLength, 0) / w.batches.length).toBeGreaterThan(150_000);
    await send(w.batches, 200); // warm-up
    const before = await majorGcs();
    await send(w.batches, 1000);
    const after = await majorGcs();
    // Reading into a new ArrayBuffer per read (main 36c03d3's fast path), this test saw 13.
    expect(after - before).toBeLessThanOrEqual(2);
  });
});
