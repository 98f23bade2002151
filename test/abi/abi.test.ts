// The release .wasm driven through the documented ABI only, by examples/embed.mjs (plain
// WebAssembly, no import of src/), must give the same span metrics as the sidecar's code path
// (Core + SpanMetricsExposition, imported here for the expected side only) for the same input.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript module without types (it is documentation)
import { createSpanmeter, DEFAULT_BUCKETS } from '../../examples/embed.mjs';
import { jsonToProtobuf } from '../../src/otlp/json.js';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { PACK_DIR, PACK_FOUND, WITH_PACK } from '../support/conformance.js';
import { loadInput } from '../support/otlp-input.js';
import { anyString, fFixed64, fLen, fVarint, keyValue, request } from '../core/helpers.js';
import {
  DEBUG_WASM, NOW_MS, RELEASE_WASM, ROOT, SAMPLE_JSON, SAMPLE_PB, expectedSeries, fromEmbed, readBytes,
  type EmbedSeries, type SeriesMap,
} from './helpers.js';

interface Meter {
  exports: Record<string, unknown> & { memory: WebAssembly.Memory; abi_version(): number };
  ingest(request: Uint8Array, nowMs?: number): number;
  sweep(nowMs?: number, staleMs?: number): number;
  spanMetrics(): EmbedSeries[];
}
const create = createSpanmeter as (wasm: Uint8Array | WebAssembly.Module, options?: { dimensions?: string[]; buckets?: number[]; maxActiveSeries?: number }) => Promise<Meter>;

async function embedSeries(requests: Uint8Array[], dimensions: string[] = [], wasm = RELEASE_WASM): Promise<SeriesMap> {
  const meter = await create(readBytes(wasm), { dimensions });
  for (const r of requests) meter.ingest(r, NOW_MS);
  return fromEmbed(meter.spanMetrics());
}

function sorted(m: SeriesMap): [string, unknown][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const PACK_INPUTS = PACK_FOUND ? readdirSync(join(PACK_DIR, 'inputs')).filter((f) => /^(own|tempo|otelcol)-/.test(f)).sort() : [];

describe('the release core through examples/embed.mjs', () => {
  it('speaks ABI version 3, and docs/abi.md documents every export and import', async () => {
    const module = new WebAssembly.Module(readBytes(RELEASE_WASM));
    const meter = await create(module);
    expect(meter.exports.abi_version()).toBe(10);
    const doc = readFileSync(join(ROOT, 'docs/abi.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1]!));
    const exported = WebAssembly.Module.exports(module).map((e) => e.name).filter((n) => n !== 'memory');
    expect(exported.filter((n) => !documented.has(n))).toEqual([]);
    expect([...documented].filter((n) => !exported.includes(n))).toEqual([]);
    const imported = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`).sort();
    expect(imported).toEqual(['env.abort:function', 'env.filter_match:function', 'env.slo_match:function']);
    const documentedImports = [...doc.matchAll(/^\| `(env\.[a-z_]+)` \|/gm)].map((m) => `${m[1]}:function`);
    expect(documentedImports.sort()).toEqual(imported);
  });

  it.runIf(WITH_PACK)('own-sm-basic.json (converted by src/otlp/json.ts): the same calls and latency buckets as the sidecar', async () => {
    const request = jsonToProtobuf(readFileSync(join(PACK_DIR, 'inputs/own-sm-basic.json'), 'utf8'));
    const expected = await expectedSeries([request]);
    const actual = await embedSeries([request]);
    expect(expected.size).toBeGreaterThan(0);
    expect(sorted(actual)).toEqual(sorted(expected));
    const cart = actual.get('service="checkout",span_kind="SPAN_KIND_SERVER",span_name="GET /cart",status_code="STATUS_CODE_UNSET"');
    expect(cart?.calls).toBe(4);
    expect(cart?.buckets.find(([le]) => le === 0.004)?.[1]).toBe(1); // the 3 ms span
  });

  it.runIf(WITH_PACK)(`every input of the conformance pack (${PACK_INPUTS.length}), one instance, with dimensions: identical`, async () => {
    expect(PACK_INPUTS.length).toBeGreaterThan(10);
    const requests = PACK_INPUTS.map((f) => loadInput(join(PACK_DIR, 'inputs', f)).protobuf);
    for (const dims of [[], ['deployment.environment', 'db.system', 'http.method']]) {
      const expected = await expectedSeries(requests, dims);
      const actual = await embedSeries(requests, dims);
      expect(actual.size).toBeGreaterThan(20);
      expect(sorted(actual)).toEqual(sorted(expected));
    }
  });

  it('the sample request: identical, and the debug build agrees with the release build', async () => {
    const request = readBytes(SAMPLE_PB);
    // The sample stays the encoding of its JSON source.
    expect(Buffer.from(request).equals(Buffer.from(jsonToProtobuf(readFileSync(SAMPLE_JSON, 'utf8'))))).toBe(true);
    const expected = await expectedSeries([request, request]);
    expect(sorted(await embedSeries([request, request]))).toEqual(sorted(expected));
    expect(sorted(await embedSeries([request, request], [], DEBUG_WASM))).toEqual(sorted(expected));
  });

  it('a malformed request: the error code and offset of the ABI, the same reason as the sidecar, nothing aggregated', async () => {
    const good = readBytes(SAMPLE_PB);
    const bad = good.subarray(0, good.length - 7); // cut inside the last span
    const meter = await create(readBytes(RELEASE_WASM));
    meter.ingest(good, NOW_MS);
    const before = meter.spanMetrics();
    let err: (Error & { code?: number }) | undefined;
    try {
      meter.ingest(bad, NOW_MS);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.code).toBeGreaterThan(0);
    const x = meter.exports as unknown as Record<string, () => number>;
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics });
    const result = core.ingest(bad, NOW_MS);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // Core's reason: "invalid protobuf: <text> in <Message>.<field> (field N) at byte B".
    const [, text] = /^invalid protobuf: ([^]*?) (in |at byte)/.exec(result.reason)!;
    expect(err!.message).toContain(`invalid protobuf: ${text!.replace(/ \(.*$/, '')}`);
    expect(result.reason).toContain(`at byte ${x.fail_offset!() >>> 0}`);
    expect(x.fail_message!()).toBeGreaterThan(0);
    expect(meter.spanMetrics()).toEqual(before);
  });

  it('memory growth: 12,000 new series grow the memory; results stay exact (views re-created after each call)', async () => {
    const span = (i: number) => [
      ...fLen(1, new Uint8Array(16).fill(7)), ...fLen(2, new Uint8Array(8).fill(9)),
      ...fLen(5, `operation number ${i} with a fairly long name to take memory`), ...fVarint(6, 2),
      ...fFixed64(7, 1_700_000_000_000_000_000n), ...fFixed64(8, 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n),
    ];
    // Three requests of 4,000 spans, 12,000 label sets in all.
    const fixed = [0, 1, 2].map((k) => request(
      Array.from({ length: 4_000 }, (_, i) => span(k * 4_000 + i)),
      [keyValue('service.name', anyString('grower'))],
    ));
    const meter = await create(readBytes(RELEASE_WASM));
    const initial = meter.exports.memory.buffer.byteLength;
    for (const r of fixed) expect(meter.ingest(r, NOW_MS)).toBe(4_000);
    expect(meter.exports.memory.buffer.byteLength).toBeGreaterThan(initial);
    const actual = fromEmbed(meter.spanMetrics());
    expect(actual.size).toBe(12_000);
    // Compared as JSON: toEqual on 12,000 entries is slow.
    expect(JSON.stringify(sorted(actual)) === JSON.stringify(sorted(await expectedSeries(fixed)))).toBe(true);
  });

  it('the default buckets of the example are the sidecar defaults', () => {
    expect(DEFAULT_BUCKETS).toEqual(defaultConfig().processor.span_metrics.histogram_buckets);
  });
});
