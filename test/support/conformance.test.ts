// The conformance checker's label rules and checks, on hand-written exposition.
import { describe, expect, test } from 'vitest';
import { checkMetrics, loadCases, parseCase, WITH_PACK } from './conformance.js';

const METRICS = [
  '# HELP req_total Requests.',
  '# TYPE req_total counter',
  'req_total{client="a",server="b",connection_type=""} 3',
  'req_total{client="a",server="db",connection_type="database",instance="x",job="y"} 1',
  '# TYPE lat_seconds histogram',
  'lat_seconds_bucket{client="a",server="b",le="0.1"} 1',
  'lat_seconds_bucket{client="a",server="b",le="1.0"} 2',
  'lat_seconds_bucket{client="a",server="b",le="+Inf"} 3',
  'lat_seconds_sum{client="a",server="b"} 0.30000000000000004',
  'lat_seconds_count{client="a",server="b"} 3',
  '',
].join('\n');

const pass = (c: Parameters<typeof checkMetrics>[0], text = METRICS): string[] => checkMetrics(c, text).failures;

describe('conformance checker', () => {
  test('expect: empty labels = no label, job/instance ignored, le numeric, tolerance', () => {
    expect(
      pass({
        expect: [
          { metric: 'req_total', labels: { client: 'a', server: 'b' }, value: 3 },
          { metric: 'req_total', labels: { client: 'a', server: 'db', connection_type: 'database' }, value: 1 },
          { metric: 'req_total', labels: { client: 'a', server: 'b', virtual_node: '' }, value: 3 },
          { metric: 'lat_seconds_bucket', labels: { client: 'a', server: 'b', le: '1' }, value: 2 },
          { metric: 'lat_seconds_bucket', labels: { client: 'a', server: 'b', le: '+Inf' }, value: 3 },
          { metric: 'lat_seconds_sum', labels: { client: 'a', server: 'b' }, value: 0.3 },
          { metric: 'req_total', labels: { client: 'z', server: 'b' }, value: 0, or_absent: true },
        ],
        absent: [],
        exhaustive: ['req_total'],
      }),
    ).toEqual([]);
  });

  test('expect failures: wrong value, missing, or_absent only for 0', () => {
    const f = pass({
      expect: [
        { metric: 'req_total', labels: { client: 'a', server: 'b' }, value: 4 },
        { metric: 'req_total', labels: { client: 'a', server: 'b' }, value: 3.5, tolerance: 0.6 },
        { metric: 'req_total', labels: { client: 'a' }, value: 3 },
        { metric: 'req_total', labels: { client: 'z', server: 'b' }, value: 1, or_absent: true },
        { metric: 'req_total', labels: { client: 'a', server: 'b' }, value: 0, or_absent: true },
      ],
      absent: [],
      exhaustive: [],
    });
    expect(f).toHaveLength(4);
    expect(f[0]).toMatch(/expect req_total\{client="a",server="b"\} = 4: got 3/);
    expect(f[1]).toMatch(/req_total\{client="a"\} = 3: missing/);
    expect(f[2]).toMatch(/client="z".*missing/);
    expect(f[3]).toMatch(/= 0: got 3/);
  });

  test('absent: no labels = any series; "" = label must be absent', () => {
    const f = pass({
      expect: [],
      absent: [
        { metric: 'nothing_total' },
        { metric: 'req_total', labels: { server: 'unknown' } },
        { metric: 'req_total', labels: { connection_type: 'database' } },
        { metric: 'req_total', labels: { client: 'a', connection_type: '' } },
        { metric: 'lat_seconds_bucket', labels: { le: '1.00' } },
        { metric: 'lat_seconds_count' },
      ],
      exhaustive: [],
    });
    expect(f).toHaveLength(4);
    expect(f[0]).toMatch(/absent req_total\{connection_type="database"\}: found 1/);
    expect(f[1]).toMatch(/absent req_total\{client="a",connection_type=""\}: found 1: req_total\{client="a",connection_type="",server="b"\}/);
    expect(f[2]).toMatch(/absent lat_seconds_bucket\{le="1.00"\}: found 1/);
    expect(f[3]).toMatch(/absent lat_seconds_count \(any series\): found 1/);
  });

  test('exhaustive: every series of the metric must be expected', () => {
    const f = pass({
      expect: [{ metric: 'req_total', labels: { client: 'a', server: 'b' }, value: 3 }],
      absent: [],
      exhaustive: ['req_total'],
    });
    expect(f).toEqual([expect.stringMatching(/exhaustive req_total: unexpected series .*server="db"/)]);
  });

  test('duplicates under the label rules, and parse errors, are failures', () => {
    const dup = '# TYPE a_total counter\na_total{x="1",y=""} 1\na_total{x="1",instance="i"} 1\n';
    expect(pass({ expect: [], absent: [], exhaustive: [] }, dup)).toEqual([
      expect.stringMatching(/duplicate: 2 series equal under the label rules as a_total\{x="1"\}: lines 2, 3/),
    ]);
    const leDup = '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="1.0"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n';
    expect(pass({ expect: [], absent: [], exhaustive: [] }, leDup).some((l) => /duplicate/.test(l))).toBe(true);
    expect(pass({ expect: [], absent: [], exhaustive: [] }, 'a{b=1} 1\n')).toEqual([
      expect.stringMatching(/not valid Prometheus text 0.0.4: line 1/),
    ]);
  });

  test('case files parse', () => {
    const c = parseCase(
      'name: x\nconfig: {processors: [span-metrics]}\ninputs: [own-a.json]\nwait_seconds: 3\n' +
        'expect:\n  - {metric: m, labels: {le: "+Inf", a: b}, value: 0, or_absent: true, tolerance: 0.01}\n' +
        'absent:\n  - {metric: m}\nexhaustive: [m]\n',
      'x.yaml',
    );
    expect(c).toMatchObject({
      name: 'x',
      inputs: ['own-a.json'],
      wait_seconds: 3,
      expect: [{ metric: 'm', labels: { le: '+Inf', a: 'b' }, value: 0, or_absent: true, tolerance: 0.01 }],
      absent: [{ metric: 'm' }],
      exhaustive: ['m'],
    });
    if (!WITH_PACK) return; // the pack's own case files: support/conformance.ts says where it looked
    const all = loadCases();
    expect(all.length).toBeGreaterThan(0);
    expect(new Set(all.map((x) => x.name)).size).toBe(all.length);
    for (const x of all) expect(`${x.name}.yaml`).toBe(x.file);
  });
});
