// OTLP/JSON amplification (issue 21 item 6). Before: a 318 KiB gzip body of 64 MiB OTLP/JSON
// blocked the event loop 1.8 s and peaked at ~500 MiB; four slow senders stalled /healthz and
// /metrics past 10 s; with a 256 MB heap cap one request killed the process. Now JSON bodies are
// inflated, counted and converted in a worker thread with its own heap cap (json-converter.ts),
// and a body with more than 524,288 objects and arrays is refused 413 before it is parsed.
import { gzipSync } from 'node:zlib';
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { countJsonNodes, runJsonJob } from '../../src/otlp/json-job.js';
import { MAX_JSON_NODES } from '../../src/otlp/json-converter.js';
import { OtlpError } from '../../src/otlp/errors.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { fetchMetricsText, startSidecar, type Sidecar } from '../support/sidecar.js';

const MIB = 1024 * 1024;

/** `{"resourceSpans":[{"scopeSpans":[{"spans":[{},{},…]}]}]}` of about `bytes` bytes: 3 bytes a node. */
function emptySpans(bytes: number): string {
  const n = Math.floor((bytes - 60) / 3);
  return '{"resourceSpans":[{"scopeSpans":[{"spans":[' + '{},'.repeat(n - 1) + '{}]}]}]}';
}

/** Real-looking OTLP/JSON: `spans` server spans of service svc (hex ids, string int64s, 5 attributes). */
function realSpans(spans: number, seed: number): string {
  const s = [];
  for (let i = 0; i < spans; i++) {
    s.push({
      traceId: (seed * 1e7 + i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'),
      name: 'GET /api/users/:id', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000005000000',
      attributes: [
        { key: 'http.method', value: { stringValue: 'GET' } }, { key: 'http.route', value: { stringValue: '/api/users/:id' } },
        { key: 'http.status_code', value: { intValue: '200' } }, { key: 'net.peer.name', value: { stringValue: '10.0.0.1' } },
        { key: 'user_agent.original', value: { stringValue: 'Mozilla/5.0 (X11; Linux x86_64)' } },
      ],
      status: { code: 1 },
    });
  }
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ scope: { name: 'x' }, spans: s }] }] });
}

describe('countJsonNodes: objects and arrays outside strings, without parsing', () => {
  it.each([
    ['{}', 1],
    ['{"a":[1,{"b":[]}]}', 4],
    // Braces and brackets inside strings, escaped quotes and escaped backslashes before a quote.
    ['{"a":"{[\\"{","b":"\\\\","c":[{}]}', 3],
    ['[[[[]]]]', 4],
  ])('%s: %i', (text, nodes) => {
    expect(countJsonNodes(Buffer.from(text), 100)).toBe(nodes);
    expect(JSON.parse(text)).toBeDefined(); // the cases are valid JSON
  });

  it('stops past the maximum', () => {
    expect(countJsonNodes(Buffer.from(emptySpans(3 * MIB)), 1000)).toBe(1001);
  });

  it('a body over the maximum is refused as too_large, naming the limit and the way out', () => {
    const job = { bytes: Buffer.from(emptySpans(2 * MIB)), encoding: undefined, maxBodyBytes: 64 * MIB, maxDecompressionRatio: 1000, maxNodes: 1000 };
    expect(() => runJsonJob(job)).toThrow(OtlpError);
    expect(() => runJsonJob(job)).toThrow(/holds more than 1000 JSON objects and arrays, the most one request may .* send smaller batches, or protobuf/);
  });
});

/** POSTs a gzip JSON body in `pieces` writes `pauseMs` apart (a slow sender); resolves its status and text, and when it was all written. */
function slowPost(otlpHttpUrl: string, body: Buffer, pieces: number, pauseMs: number): { sent: Promise<void>; answer: Promise<{ status: number; text: string }> } {
  const url = new URL('/v1/traces', otlpHttpUrl);
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': String(body.length) } });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
  const sent = (async () => {
    const size = Math.ceil(body.length / pieces);
    for (let at = 0; at < body.length; at += size) {
      req.write(body.subarray(at, at + size));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    await new Promise<void>((r) => req.end(r));
  })();
  return { sent, answer };
}

describe('a sidecar with a 256 MB heap cap and four JSON senders (issue 21 item 6)', () => {
  let sidecar: Sidecar | undefined;
  afterAll(async () => {
    await sidecar?.stop();
  });

  it('64 MiB of empty spans in 293 KB of gzip: 413 naming the limit, the process lives, probes answer; real JSON alongside is converted off the event loop and counted exactly', async () => {
    sidecar = await startSidecar({ label: 'json-amplification', env: { NODE_OPTIONS: '--max-old-space-size=256' }, config: { processors: ['span-metrics'] } });
    const s = sidecar;
    // The bomb: 64 MiB of `{},` at gzip level 1 (229x, under the 1000x ratio limit).
    const bomb = gzipSync(emptySpans(64 * MIB), { level: 1 });
    expect(bomb.length).toBeLessThan(320 * 1024);
    // Probes polled all along; each answer notes whether a JSON request had been fully sent and was still unanswered.
    let running = true;
    let waiting = 0; // bodies fully sent, not yet answered
    const probes = { healthz: 0, metrics: 0, healthzWhileWaiting: 0, metricsWhileWaiting: 0, failed: 0 };
    const poll = (async () => {
      while (running) {
        for (const path of ['healthz', 'metrics'] as const) {
          const r = await fetch(`${s.httpUrl}/${path}`).catch(() => undefined);
          if (r?.status !== 200) probes.failed++;
          await r?.arrayBuffer();
          probes[path]++;
          if (waiting > 0) probes[path === 'healthz' ? 'healthzWhileWaiting' : 'metricsWhileWaiting']++;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const track = (p: { sent: Promise<void>; answer: Promise<{ status: number; text: string }> }) => {
      void p.sent.then(() => waiting++);
      return p.answer.then((a) => {
        waiting--;
        return a;
      });
    };
    // Four slow senders of the bomb.
    const bombs = await Promise.all([0, 1, 2, 3].map(() => track(slowPost(s.otlpHttpUrl, bomb, 8, 50))));
    for (const a of bombs) {
      expect(a.status).toBe(413);
      expect(a.text).toContain(`holds more than ${MAX_JSON_NODES} JSON objects and arrays`);
    }
    expect(s.alive()).toBe(true);
    // Four senders of real OTLP/JSON, 16,000 spans (~8 MiB) each: accepted, converted one at a time
    // in the worker while the probes keep answering.
    const SPANS = 16_000;
    const real = [1, 2, 3, 4].map((k) => gzipSync(realSpans(SPANS, k), { level: 1 }));
    const answers = await Promise.all(real.map((b) => track(slowPost(s.otlpHttpUrl, b, 4, 20))));
    running = false;
    await poll;
    for (const a of answers) expect(a.status).toBe(200);
    expect(s.alive()).toBe(true);
    expect(probes.failed).toBe(0);
    // Answered while a fully sent JSON body was being inflated, counted or converted: before, the
    // conversion ran on the event loop and no probe could be answered until it ended.
    expect(probes.healthzWhileWaiting).toBeGreaterThan(0);
    expect(probes.metricsWhileWaiting).toBeGreaterThan(0);
    const samples = parsePrometheusText((await fetchMetricsText(s)).text).samples;
    const calls = samples.filter((x) => x.name === 'traces_spanmetrics_calls_total').reduce((a, x) => a + x.value, 0);
    expect(calls).toBe(4 * SPANS); // each accepted span once, none of the bombs'
    const rejected = samples.find((x) => x.name === 'spanmeter_requests_rejected_total' && x.labels.protocol === 'http' && x.labels.reason === 'too_large');
    expect(rejected?.value).toBe(4);
    console.log(`json-amplification: probes ${probes.healthz} /healthz and ${probes.metrics} /metrics, ${probes.healthzWhileWaiting} and ${probes.metricsWhileWaiting} while a JSON body waited`);
  }, 120_000);
});
