// The page's graph layout and number formatting (pure functions, run here as in the browser),
// and the freshness of the generated src/ui/assets.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { layoutGraph, type Layout } from '../../src/ui/web/layout.js';
import { errorLevel, formatPercent, formatQuantile, formatRate, formatRateOrTotal, formatSeconds, shorten } from '../../src/ui/web/format.js';
import { histogramQuantile } from '../../src/ui/quantile.js';
import { render } from '../../src/ui/web/generate.mjs';

const places = (l: Layout) => Object.fromEntries([...l.nodes].map(([id, p]) => [id, [p.rank, p.order]]));
const GAPS = { columnGap: 100, rowGap: 10, marginX: 0, marginY: 0 };

describe('layoutGraph', () => {
  it('puts nodes in columns by the longest path from a source', () => {
    const l = layoutGraph(['db', 'api', 'user', 'web', 'cache'], [['user', 'web'], ['web', 'api'], ['api', 'db'], ['web', 'db'], ['api', 'cache']], GAPS);
    expect(places(l)).toEqual({ user: [0, 0], web: [1, 0], api: [2, 0], cache: [3, 0], db: [3, 1] });
    expect(l.ranks).toBe(4);
    expect(l.nodes.get('api')).toMatchObject({ x: 200, y: 5 });
    expect([l.width, l.height]).toEqual([300, 10]);
  });

  it('is a function of the topology alone: the order nodes and edges come in does not matter', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e', 'f'];
    const edges: [string, string][] = [['a', 'c'], ['b', 'd'], ['c', 'e'], ['d', 'e'], ['a', 'f'], ['b', 'c']];
    const one = layoutGraph(nodes, edges, GAPS);
    const two = layoutGraph([...nodes].reverse(), [...edges].reverse(), GAPS);
    expect(places(two)).toEqual(places(one));
  });

  it('orders a column to avoid crossings', () => {
    // a → y and b → x: x below y, so the two edges do not cross.
    const l = layoutGraph(['a', 'b', 'x', 'y'], [['a', 'y'], ['b', 'x']], GAPS);
    expect(places(l)).toEqual({ a: [0, 0], b: [0, 1], y: [1, 0], x: [1, 1] });
  });

  it('breaks cycles and ignores self-loops and unknown ends', () => {
    const l = layoutGraph(['a', 'b', 'c'], [['a', 'b'], ['b', 'c'], ['c', 'b'], ['c', 'c'], ['c', 'nowhere']], GAPS);
    expect(places(l)).toEqual({ a: [0, 0], b: [1, 0], c: [2, 0] });
    const ring = layoutGraph(['x', 'y'], [['x', 'y'], ['y', 'x']], GAPS);
    expect(places(ring)).toEqual({ x: [0, 0], y: [1, 0] });
    expect(layoutGraph([], [], GAPS)).toEqual({ nodes: new Map(), width: 0, height: 0, ranks: 0 });
  });

  it('keeps what was placed when the topology grows: old nodes keep their order, new ones go next to their neighbours', () => {
    const edges: [string, string][] = [['gw', 'a'], ['gw', 'b'], ['gw', 'c']];
    const first = layoutGraph(['gw', 'a', 'b', 'c'], edges, GAPS);
    expect(places(first)).toEqual({ gw: [0, 0], a: [1, 0], b: [1, 1], c: [1, 2] });
    // Pretend the first layout had put them the other way round: that order is kept.
    const previous = new Map([
      ['gw', { rank: 0, order: 0 }], ['c', { rank: 1, order: 0 }], ['b', { rank: 1, order: 1 }], ['a', { rank: 1, order: 2 }],
      ['db', { rank: 2, order: 0 }],
    ]);
    const grown = layoutGraph(['gw', 'a', 'b', 'c', 'b2', 'db'], [...edges, ['b', 'b2'], ['gw', 'b2'], ['c', 'db']], { ...GAPS, previous });
    // b2 is in column 2 with db (longest path gw → b → b2): it goes next to b's position.
    expect(places(grown)).toEqual({ gw: [0, 0], c: [1, 0], b: [1, 1], a: [1, 2], db: [2, 0], b2: [2, 1] });
  });
});

describe('formatting', () => {
  it('rates, percentages, seconds', () => {
    expect([null, 0, 0.004, 0.244, 1.2, 12.34, 123.4, 12345.6].map((r) => formatRate(r))).toEqual([
      '…', '0/s', '<0.01/s', '0.244/s', '1.20/s', '12.3/s', '123/s', '12,346/s',
    ]);
    expect([null, 0, 0.00001, 0.0025, 0.011, 0.25, 0.3333, 0.99999, 1].map(formatPercent)).toEqual([
      '–', '0%', '<0.01%', '0.25%', '1.1%', '25%', '33.3%', '99.9%', '100%',
    ]);
    expect([null, 0.0000005, 0.00085, 0.012, 0.0156, 0.95, 1.2, 16.384].map((s) => formatSeconds(s))).toEqual([
      '–', '0.5µs', '850µs', '12.0ms', '15.6ms', '950ms', '1.20s', '16.4s',
    ]);
    expect([0.05, 0.095, 0.0019, 1].map((s) => formatSeconds(s, true))).toEqual(['50ms', '95ms', '1.9ms', '1s']);
    expect([null, 0, 0.005, 0.01, 0.049, 0.05].map(errorLevel)).toEqual(['none', 'ok', 'low', 'mid', 'mid', 'high']);
  });

  it('a quantile in the first bucket or in +Inf says only what the histogram can tell', () => {
    // Tempo's default service-graph buckets, 0.1 … 12.8 s (docs/config.md), first and last bound.
    const bounds = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8];
    const range = { first: 0.1, last: 12.8 };
    const show = (q: number, counts: number[]) => formatQuantile(histogramQuantile(q, bounds, counts), range, true);
    // 20 requests of 25 ms, all in le 0.1: histogram_quantile interpolates p50 to 0.1 · 10/20 =
    // 0.05 and p95 to 0.095 (the "p50 50ms · p95 95ms" of issue 18), which only means "under 100 ms".
    const fast = [20, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(histogramQuantile(0.5, bounds, fast)).toBe(0.05);
    expect([show(0.5, fast), show(0.95, fast)]).toEqual(['< 100ms', '< 100ms']);
    // 1 in le 0.1, 1 in le 0.2: p50 rank 1 ends the first bucket (0.1, still "under"); p95 rank
    // 1.9 in le 0.2: 0.1 + 0.1 · 0.9 = 0.19, a figure between two bounds.
    const mixed = [1, 1, 0, 0, 0, 0, 0, 0, 0];
    expect([show(0.5, mixed), show(0.95, mixed)]).toEqual(['< 100ms', '190ms']);
    // 10 over 12.8 s (+Inf): histogram_quantile answers the last bound, 12.8, meaning "over".
    expect(show(0.99, [0, 0, 0, 0, 0, 0, 0, 0, 10])).toBe('> 12.8s');
    expect(formatQuantile(null, range)).toBe('–');
    // Without a range (unknown buckets): as formatSeconds.
    expect(formatQuantile(0.05, null)).toBe('50.0ms');
  });

  it('a rate, or the total since start while there is none', () => {
    expect(formatRateOrTotal({ rate: null, total: 1234 })).toBe('1,234 total');
    expect(formatRateOrTotal({ rate: 2.5, total: 1234 })).toBe('2.50/s');
    expect(formatRateOrTotal({ rate: null })).toBe('…');
  });

  it('shortens host names at a dot', () => {
    expect(shorten('checkout', 24)).toBe('checkout');
    expect(shorten('reviews-mongo.shop.svc.cluster.local', 24)).toBe('reviews-mongo.shop.svc…');
    expect(shorten('a-very-long-service-name-without-dots', 24)).toBe('a-very-long-service-nam…');
  });
});

describe('src/ui/assets.ts', () => {
  it('holds the current src/ui/web/*.ts (npm run build, or node src/ui/web/generate.mjs, writes it)', () => {
    expect(readFileSync(new URL('../../src/ui/assets.ts', import.meta.url), 'utf8')).toBe(render());
  });
});
