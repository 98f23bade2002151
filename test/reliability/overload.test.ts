// Overload from a second process: test/reliability/overload-sender.mjs sends spans with the real
// OpenTelemetry SDK and OTLP/HTTP protobuf exporter, from 32 concurrent exports over 1 MB/s links,
// for 60 s (SPANMETER_OVERLOAD_SECONDS shortens it outside CI) to a sidecar whose ingest budget
// takes 4 requests or 128 KiB at a time: far more than it admits. The sidecar refuses the rest
// with 429 + Retry-After, the exporter retries them on its own (at most 5 times), and whatever
// the exporter reported as SUCCESS must be on /metrics, exactly, while the memory stays bounded.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../support/prom-text.js';
import { fetchMetricsText, PROJECT_ROOT, startSidecar, type Sidecar } from '../support/sidecar.js';

const SECONDS = process.env.CI ? 60 : Number(process.env.SPANMETER_OVERLOAD_SECONDS ?? 60);
const SENDER = fileURLToPath(new URL('./overload-sender.mjs', import.meta.url));
const MAX_INFLIGHT_REQUESTS = 4;
const MAX_INFLIGHT_BYTES = 128 * 1024;
// Memory bounds: a 64 MiB old space (a JS heap that outgrows it ends the process: alive() says
// so), and a peak resident set under 160 MiB. Measured: about 70 MiB at start, 100 MiB peak.
const HEAP_MIB = 64;
const PEAK_RSS_BYTES = 160 * 1024 * 1024;

interface SenderReport {
  exports: { success: number; failed: number };
  spans: { acknowledged: number; failed: number };
  acknowledgedByName: Record<string, number>;
  attempts: number;
  statuses: Record<string, number>;
  unanswered: number;
  errors: Record<string, number>;
}

function runSender(url: string): Promise<SenderReport> {
  return new Promise((resolve, reject) => {
    const args = ['--url', url, '--seconds', String(SECONDS), '--concurrency', '32', '--spans', '500', '--link-rate', '1000000'];
    const child = spawn(process.execPath, [SENDER, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`sender exited with ${code}:\n${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as SenderReport);
    });
  });
}

/** A line of /proc/<pid>/status in bytes, e.g. VmRSS or VmHWM (the peak). */
function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

let sidecar: Sidecar | undefined;
afterAll(async () => {
  await sidecar?.stop();
});

describe('overload from a second process', () => {
  it(`${SECONDS} s over the ingest budget: what the exporter got acknowledged is counted exactly`, async () => {
    sidecar = await startSidecar({
      label: 'overload',
      config: { log_level: 'warn', otlp: { max_inflight_requests: MAX_INFLIGHT_REQUESTS, max_inflight_bytes: MAX_INFLIGHT_BYTES } },
      env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${HEAP_MIB}`.trim() },
    });
    const s = sidecar;
    const metric = (text: string, name: string, labels: Record<string, string> = {}): number =>
      parsePrometheusText(text).samples
        .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
        .reduce((a, x) => a + x.value, 0);
    // The core's memory once the first requests have sized its input buffer and the five series
    // (10 s into the run), to compare with the end: it grows by what it is asked (assembly/runtime.ts).
    let wasmWarm: number | undefined;
    const warm = setTimeout(() => {
      void fetchMetricsText(s).then((m) => (wasmWarm = metric(m.text, 'spanmeter_wasm_memory_bytes')), () => undefined);
    }, 10_000);

    let maxRss = 0;
    const sampler = setInterval(() => {
      if (s.alive()) maxRss = Math.max(maxRss, procStatusBytes(s.pid, 'VmRSS'));
    }, 500);
    let report: SenderReport;
    try {
      report = await runSender(`${s.otlpHttpUrl}/v1/traces`);
    } finally {
      clearInterval(sampler);
      clearTimeout(warm);
    }
    expect(s.alive(), s.output().slice(-2000)).toBe(true);
    const peakRss = procStatusBytes(s.pid, 'VmHWM');
    const text = (await fetchMetricsText(s)).text;
    console.log(`overload ${SECONDS} s: ${JSON.stringify(report)}; sidecar peak RSS ${(peakRss / 2 ** 20).toFixed(1)} MiB, ` +
      `max sampled ${(maxRss / 2 ** 20).toFixed(1)} MiB`);

    // The load was real: the exporter was refused, retried, and some retries went through
    // (more 429s than the 6 attempts of each export that failed: the rest belong to exports that succeeded).
    expect(report.unanswered).toBe(0); // every attempt was answered: no outcome is ambiguous
    expect(Object.keys(report.statuses).sort()).toEqual(['200', '429']);
    expect(report.statuses['200']).toBe(report.exports.success); // one 200 per acknowledged export
    expect(report.statuses['429']).toBeGreaterThan(6 * report.exports.failed);

    // The sidecar saw the same: its 200s are the exporter's successes, its 429s the exporter's refusals.
    expect(metric(text, 'spanmeter_requests_total', { protocol: 'http', code: '200' })).toBe(report.exports.success);
    expect(metric(text, 'spanmeter_requests_throttled_total', { protocol: 'http' })).toBe(report.statuses['429']);
    expect(metric(text, 'spanmeter_requests_rejected_total', { protocol: 'http', reason: 'throttled' })).toBe(report.statuses['429']);

    // Exactly what was acknowledged, per series.
    const calls = parsePrometheusText(text).samples.filter((x) => x.name === 'traces_spanmetrics_calls_total');
    expect(Object.fromEntries(calls.map((c) => [c.labels.span_name, c.value]))).toEqual(report.acknowledgedByName);
    expect(calls.reduce((a, c) => a + c.value, 0)).toBe(report.spans.acknowledged);
    expect(metric(text, 'spanmeter_spans_accepted_total')).toBe(report.spans.acknowledged);

    // Memory: bounded, and the core did not grow after the first 10 s for five series.
    expect(peakRss).toBeLessThan(PEAK_RSS_BYTES);
    expect(wasmWarm).toBeGreaterThan(0);
    expect(metric(text, 'spanmeter_wasm_memory_bytes')).toBe(wasmWarm);
  }, (SECONDS + 90) * 1000);
});
