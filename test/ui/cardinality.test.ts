// GET /api/cardinality and `spanmeter cardinality` against a running sidecar (issue 23 items 2-5):
// a workload with the guides' classic mistakes (a user id and a client IP on every span, the
// user id configured as a dimension, URL paths with ids in the span names) next to a safe key
// (http.request.method, 3 values). Expected values come from the workload, written here: the
// verdicts from the rules in src/ui/cardinality.ts (UUID, e-mail, IP shapes or a value per
// sampled span: never; more than the cap: costly), estimates within HyperLogLog's 4 standard
// errors (4 · 1.04/32).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from '../support/otlp-input.js';
import { postTraces, runCli, startSidecar, type Sidecar } from '../support/sidecar.js';
import type { CardinalityResponse } from '../../src/ui/cardinality.js';
import { launchBrowser } from './browser.js';

// The hash key is drawn per core from the CSPRNG, so each run is another draw: 4 standard
// errors (a normal deviate past 4σ: 6 in 100,000).
const SIGMA4 = 4 * 1.04 / 32;
const SPANS = 6400; // 100 sampled at one span in 64
const METHODS = ['GET', 'POST', 'PUT'];

function id(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7 + 1) & 0xff;
  b[0] = seed & 0xff;
  b[1] = (seed >> 8) & 0xff;
  return b;
}

function batch(first: number, count: number): Uint8Array {
  const end = Date.now() * 1e6;
  const spans = Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return {
      traceId: id(16, i), spanId: id(8, i), kind: 2, startTimeUnixNano: end - 5e6, endTimeUnixNano: end,
      name: `${METHODS[i % 3]} /users/${i}/cart`,
      attributes: [
        { key: 'user.id', value: { stringValue: `user-${i}` } },
        { key: 'client.address', value: { stringValue: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } },
        { key: 'http.request.method', value: { stringValue: METHODS[i % 3] } },
      ],
    };
  });
  return encodeRequest({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeSpans: [{ spans }] }] });
}

describe('GET /api/cardinality and spanmeter cardinality', () => {
  let s: Sidecar;
  let report: CardinalityResponse;
  beforeAll(async () => {
    s = await startSidecar({
      label: 'cardinality',
      config: {
        processors: ['span-metrics'],
        processor: { span_metrics: { dimensions: ['user.id'], span_name_normalization: 'dry_run' } },
        registry: { max_cardinality_per_label: 200 },
      },
    });
    for (let first = 0; first < SPANS; first += 800) expect((await postTraces(s, batch(first, 800), 'application/x-protobuf')).status).toBe(200);
    const res = await fetch(`${s.httpUrl}/api/cardinality`);
    expect(res.status).toBe(200);
    report = (await res.json()) as CardinalityResponse;
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('names the capped labels, their values, an example and the fix', () => {
    const l = report.limits;
    expect(l.max_cardinality_per_label).toBe(200);
    const user = l.labels.find((x) => x.label === 'user_id')!;
    expect(user.attribute).toBe('user.id');
    expect(Math.abs(user.estimate - SPANS) / SPANS).toBeLessThan(SIGMA4);
    expect(user.example).toMatch(/^user-\d+$/);
    expect(l.labels.find((x) => x.label === 'span_name')!.example).toMatch(/^(GET|POST|PUT) \/users\/\d+\/cart$/);
    expect(l.fixes).toContain('remove user.id from processor.span_metrics.dimensions (one series per value)');
    expect(l.held_back_services[0]!.service).toBe('shop');
    // every span its own label set: 6400 sets of 19 series (14 default buckets)
    expect(Math.abs(l.series_demand_estimate / 19 - SPANS) / SPANS).toBeLessThan(SIGMA4);
  });

  it('previews every attribute key, configured or not, with a verdict', () => {
    const p = report.preview;
    expect(p.sampled_spans).toBe(SPANS / 64);
    expect(p.memory_bytes).toBe(512 * 1280);
    const key = (k: string) => p.keys.find((x) => x.service === 'shop' && x.key === k)!;
    // a value per span: never (and the IPs by their shape too)
    expect(key('user.id')).toMatchObject({ verdict: 'never', dimension: true, spans: 100 });
    expect(Math.abs(key('user.id').estimate - 100) / 100).toBeLessThan(SIGMA4);
    expect(key('client.address')).toMatchObject({ verdict: 'never', dimension: false });
    expect(key('client.address').examples[0]).toMatch(/^10\.\d+\.\d+\.\d+$/);
    // 3 methods: safe
    expect(key('http.request.method')).toMatchObject({ estimate: 3, verdict: 'safe', dimension: false });
    expect([...key('http.request.method').examples].sort()).toEqual(['GET', 'POST', 'PUT']);
  });

  it('reports which span names dry_run would merge', () => {
    const n = report.span_names;
    expect(n.span_name_normalization).toBe('dry_run');
    // the names with a real user id (the others carry __cardinality_overflow__): one per method
    expect(n.merges.map((m) => m.name).sort()).toEqual(['GET /users/{id}/cart', 'POST /users/{id}/cart', 'PUT /users/{id}/cart']);
    // most of those label sets have a user_id of their own, which normalising the names keeps
    // apart; only sets whose user_id went to the overflow value while their name did not merge
    // (the two labels pass the cap a few values apart: the estimates are each a random draw)
    expect(n.label_sets_after).toBeLessThanOrEqual(n.label_sets);
    expect(n.label_sets_after).toBeGreaterThan(n.label_sets - 4 * 0.0325 * 200 * 2);
  });

  it('the page\'s Cardinality panel, in Chromium, names the fix, the offending key and the merges', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${s.httpUrl}/ui`);
      const poll = { timeout: 20_000, interval: 250 };
      await expect.poll(() => page.textContent('#card-fixes'), poll).toContain('remove user.id from processor.span_metrics.dimensions');
      expect(await page.isVisible('#card-fixes')).toBe(true);
      expect(await page.textContent('#card-summary')).toMatch(/^Series held back: \d+ active of 200000, the traffic would make about \d+\.$/);
      const keyRows = await page.$$eval('#card-keys tbody tr', (trs) => trs.map((t) => [...t.children].map((c) => c.textContent)));
      const ip = keyRows.find((r) => r[1] === 'client.address')!;
      expect([ip[0], ip[4]]).toEqual(['shop', 'never']);
      expect(keyRows.find((r) => r[1] === 'user.id (dimension)')![4]).toBe('never');
      expect(keyRows.find((r) => r[1] === 'http.request.method')!.slice(2, 3).concat(keyRows.find((r) => r[1] === 'http.request.method')![4]!)).toEqual(['3', 'safe']);
      const names = await page.$$eval('#card-names tbody tr', (trs) => trs.map((t) => t.children[0]!.textContent));
      expect(names).toContain('GET /users/{id}/cart');
    } finally {
      await browser.close();
    }
  });

  it('spanmeter cardinality prints the same, as tables', async () => {
    const r = await runCli(['cardinality', '--url', s.httpUrl]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('fix: remove user.id from processor.span_metrics.dimensions');
    expect(r.stdout).toMatch(/shop\s+client\.address\s+\d+\s+\d+\s+never\s+10\./);
    expect(r.stdout).toMatch(/shop\s+http\.request\.method\s+3\s+\d+\s+safe/);
    expect(r.stdout).toContain('GET /users/{id}/cart');
    const down = await runCli(['cardinality', '--url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach http://127.0.0.1:9/api/cardinality');
  });
});
