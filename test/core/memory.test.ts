// Core memory as series come and go: the linear memory grows by what the series need (the
// allocator of assembly/runtime.ts, records in chunks: docs/abi.md "Series tables"), every
// record stays readable where the chunk directory says, and removed series give their room back.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { seriesBatches } from '../../src/workload/workload.js';
import { fFixed64, fLen, fVarint, request } from './helpers.js';

const SPAN_NAME = 1; // docs/abi.md "Span metrics": key word 1 is span_name
const CALLS = 0; // value 0: calls

// The names seriesBatches gives (src/workload/workload.ts): one per series, 37 bytes each.
const name = (i: number): string => `GET /api/v1/catalog/items/sku-${String(i).padStart(7, '0')}`;

async function grown(n: number): Promise<{ core: Core; perSeries: number; firstBatch: number }> {
  const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics, build: 'release' });
  const batches = seriesBatches(n, 512);
  const now = Date.now();
  expect(core.ingest(batches[0]!, now).ok).toBe(true);
  const m0 = core.memoryBytes();
  for (const b of batches.slice(1)) expect(core.ingest(b, now).ok).toBe(true);
  return { core, perSeries: (core.memoryBytes() - m0) / (n - 512), firstBatch: m0 };
}

describe('core memory', () => {
  it('grows by about what a series holds, not by doubling', async () => {
    const { core, perSeries } = await grown(30_000);
    expect(core.table('spanMetrics')!.used).toBe(30_000);
    // By hand: a record is 160 bytes (8 header + 4 key words = 24, 8-aligned + 17 f64 values:
    // calls, size, sum and the 14 default buckets), its 37-byte span name 37 (stored at its
    // length: assembly/stringbytes.ts) plus an 8-byte string entry (grown by an eighth past 8,192
    // entries, assembly/intern.ts: at most 9 bytes), and two indexes of 4-byte slots
    // (assembly/hashindex.ts, tagged) doubled when 7/8 full, so at least 7/16 full (4 / (7/16) =
    // 9.1 bytes each per series), and the series' slowest-trace slot (assembly/worst.ts
    // WORST_SIZE, 40 bytes in chunks of 32; no failed slots: no span failed): 160 + 37 + 9 + 18.3
    // + 40 = 264.3, plus at most 512 KiB of slack per memory.grow (18 bytes over 29,488 series).
    // Doubling the memory, as the allocator before did, gave 427 here (4 MiB to 16 MiB) without
    // the slowest-trace slot.
    expect(perSeries).toBeGreaterThan(160);
    expect(perSeries).toBeLessThan(264.3 + 18);
  });

  it('keeps a label value once 65,535 series held it, and frees the values fewer held', async () => {
    // seriesBatches (src/workload/workload.ts): every span from host.name "catalog-api-7d9f8-x2x4q"
    // (23 bytes), each with its own span name; host.name a dimension, held by the series only.
    const afterSweep = async (n: number): Promise<number> => {
      const sm = { ...defaultConfig().processor.span_metrics, dimensions: ['host.name'] };
      const core = await Core.create({ spanMetrics: sm, build: 'release' });
      for (const b of seriesBatches(n, 512)) expect(core.ingest(b, Date.now()).ok).toBe(true);
      expect(core.sweep(Date.now() + 16 * 60_000)).toBe(n);
      return core.stringBytes();
    };
    const few = await afterSweep(2000);
    // docs/abi.md "The string table": references stop counting at 65,535 and the value is kept,
    // so with 70,000 series gone the host name's 23 bytes stay; the span names go either way.
    expect(await afterSweep(70_000)).toBe(few + 'catalog-api-7d9f8-x2x4q'.length);
  });

  it('reads every record through the chunk directory, and reuses what removed series held', async () => {
    const n = 2000; // over five chunks of 409 records (65,536 - 8 bytes / 160)
    const { core } = await grown(n);
    const check = (): void => {
      const view = core.table('spanMetrics')!;
      const seen = new Set<string>();
      for (let slot = 0; slot < view.used; slot++) {
        if (!view.live(slot)) continue;
        expect(view.value(slot, CALLS)).toBe(1);
        seen.add(core.label(view.key(slot, SPAN_NAME)));
      }
      expect(seen.size).toBe(n);
      for (let i = 0; i < n; i += 397) expect(seen.has(name(i))).toBe(true);
    };
    check();
    const full = core.memoryBytes();
    // All series stale (registry.stale_duration, 15 minutes): records and names are freed.
    expect(core.sweep(Date.now() + 16 * 60_000)).toBe(n);
    expect(core.table('spanMetrics')!.used).toBe(n);
    // The same series again: freed records and string blocks are reused, nothing grows.
    for (const b of seriesBatches(n, 512)) expect(core.ingest(b, Date.now() + 16 * 60_000).ok).toBe(true);
    expect(core.table('spanMetrics')!.used).toBe(n);
    expect(core.memoryBytes()).toBe(full);
    check();
  });

  it('finds the series that stay after others were removed, and gives the removed ones new records', async () => {
    // 3,000 series (over two doublings of the series index: 512 slots at start, 4,096 at the end),
    // the first 1,536 (three requests) 10 minutes older than the rest; a sweep 16 minutes after
    // the first removes those alone (registry.stale_duration, 15 minutes), leaving the others in
    // probe runs that removal closed up. The 1,464 kept are sent again first: each found (2
    // calls, no record added); then the 1,536 removed come back (1 call each).
    const n = 3000;
    const old = 1536;
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics, build: 'release' });
    const batches = seriesBatches(n, 512);
    const t0 = Date.now();
    batches.forEach((b, i) => expect(core.ingest(b, i < old / 512 ? t0 : t0 + 10 * 60_000).ok).toBe(true));
    expect(core.sweep(t0 + 16 * 60_000)).toBe(old);
    const view = core.table('spanMetrics')!;
    const calls = (): Map<string, number> => {
      const out = new Map<string, number>();
      for (let slot = 0; slot < view.used; slot++) {
        if (!view.live(slot)) continue;
        const name = core.label(view.key(slot, SPAN_NAME));
        expect(out.has(name)).toBe(false);
        out.set(name, view.value(slot, CALLS));
      }
      return out;
    };
    for (const b of batches.slice(old / 512)) expect(core.ingest(b, t0 + 16 * 60_000).ok).toBe(true);
    let seen = calls();
    expect(seen.size).toBe(n - old);
    for (let i = old; i < n; i++) expect([i, seen.get(name(i))]).toEqual([i, 2]);
    for (const b of batches.slice(0, old / 512)) expect(core.ingest(b, t0 + 16 * 60_000).ok).toBe(true);
    expect(view.used).toBe(n);
    seen = calls();
    expect(seen.size).toBe(n);
    for (let i = 0; i < n; i++) expect([i, seen.get(name(i))]).toEqual([i, i < old ? 1 : 2]);
  });

  it('gives a label value freed by a sweep to the next value of its length at once, however the others around it stay', async () => {
    // 24,000 span names of 4 to 80 bytes (about 1 MB); every 8th is sent again 10 minutes later,
    // so a sweep 16 minutes after the first frees 21,000 (registry.stale_duration, 15 minutes)
    // scattered among the 3,000 that stay. 21,000 new names of the same lengths then take the
    // freed bytes (assembly/stringbytes.ts: exact-length free lists; heap blocks over 63 bytes),
    // and the freed records: the memory does not grow, three times over. Were the freed bytes reused
    // only once nothing around them stayed, the ~840 KB of new names would need a memory.grow (at
    // most 512 KiB of slack: assembly/runtime.ts).
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics, build: 'release' });
    const span = (name: string): number[] => [
      ...fLen(1, new Uint8Array(16).fill(1)), ...fLen(2, new Uint8Array(8).fill(2)), ...fLen(5, name), ...fVarint(6, 2),
      ...fFixed64(7, 1_000_000_000n), ...fFixed64(8, 1_500_000_000n),
    ];
    const send = (names: string[], nowMs: number): void => {
      for (let i = 0; i < names.length; i += 512) expect(core.ingest(request(names.slice(i, i + 512).map(span)), nowMs).ok).toBe(true);
    };
    const n = 24_000;
    const length = (i: number): number => 4 + (i % 77);
    // Distinct: the index in base 36 and a mark end each name's prefix.
    const names = (mark: string, from: number[]): string[] => from.map((i) => `${i.toString(36)}${mark}`.padEnd(length(i), 'x'));
    const all = Array.from({ length: n }, (_, i) => i);
    const stay = all.filter((i) => i % 8 === 0);
    const go = all.filter((i) => i % 8 !== 0);
    const live = (): string[] => {
      const view = core.table('spanMetrics')!;
      const out: string[] = [];
      for (let slot = 0; slot < view.used; slot++) if (view.live(slot)) out.push(core.label(view.key(slot, SPAN_NAME)));
      return out.sort();
    };
    const t0 = 1_700_000_000_000;
    send(names('/', all), t0);
    const kept = names('/', stay);
    let t = t0;
    let full = 0;
    for (const mark of ['.', ':', ';']) {
      t += 10 * 60_000;
      send(kept, t);
      t += 6 * 60_000;
      expect(core.sweep(t)).toBe(go.length);
      if (full === 0) full = core.memoryBytes();
      const fresh = names(mark, go);
      send(fresh, t);
      expect(core.memoryBytes()).toBe(full);
      expect(live()).toEqual([...kept, ...fresh].sort());
    }
  });
});
