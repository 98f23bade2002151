// filter_policies for service graphs: the side of a filtered span is remembered so that its other
// side makes no edge, no virtual node and no unpaired span. The same traces as Tempo's tests
// (grafana/tempo modules/generator/processor/servicegraphs/servicegraphs_test.go:
// TestServiceGraphs_droppedEdgesMetric_fromFilteredCounterpart,
// …_whenFilteredSpanDropsBufferedCounterpart, TestServiceGraphs_filteredRootServerSpanDoesNotAddDroppedCounterpart),
// where Tempo counts the dropped edge in an internal counter; here what shows is that no edge and
// no unpaired span come out, even after the wait.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import type { FilterPolicy } from '../../src/config/filters.js';
import type { ServiceGraphsConfig } from '../../src/config/types.js';
import * as L from '../../src/core/layout.js';
import { anyString, fFixed64, fLen, fVarint, keyValue, type Bytes } from '../core/helpers.js';

const CLIENT = 3;
const SERVER = 2;
const INTERNAL = 1;
const T0 = 1_700_000_000_000_000_000n;
const NOW = Number(T0 / 1_000_000n);
const trace = (b: number) => Array.from({ length: 16 }, (_, i) => (i === 15 ? b : 0));
const id = (b: number) => Array.from({ length: 8 }, (_, i) => (i === 7 ? b : 0));

interface S { kind: number; traceId: number; spanId?: number; parent?: number; attrs?: Bytes[] }

function span(s: S): Bytes {
  return [
    ...fLen(1, trace(s.traceId)),
    ...(s.spanId ? fLen(2, id(s.spanId)) : []),
    ...(s.parent ? fLen(4, id(s.parent)) : []),
    ...fLen(5, 'op'),
    ...fVarint(6, s.kind),
    ...fFixed64(7, T0),
    ...fFixed64(8, T0 + 1_000_000n),
    ...(s.attrs ?? []).flatMap((kv) => fLen(9, kv)),
  ];
}

/** One ResourceSpans per [service, spans]. */
function request(batches: [string, S[]][]): Uint8Array {
  return new Uint8Array(batches.flatMap(([service, spans]) => fLen(1, [
    ...fLen(1, fLen(1, keyValue('service.name', anyString(service)))),
    ...fLen(2, spans.flatMap((s) => fLen(2, span(s)))),
  ])));
}

const EXCLUDE_SVC_A: FilterPolicy[] = [{ exclude: { match_type: 'strict', attributes: [{ key: 'resource.service.name', value: 'svc-a' }] } }];

async function graphs(policies: FilterPolicy[]): Promise<Core> {
  const sg: ServiceGraphsConfig = { ...defaultConfig().processor.service_graphs, filter_policies: policies };
  return Core.create({ serviceGraphs: sg });
}

/** "client->server" per edge with its request count, and per unpaired row. */
function rows(core: Core, table: 'edges' | 'unpaired'): string[] {
  const t = core.table(table)!;
  const out: string[] = [];
  for (let i = 0; i < t.used; i++) {
    if (!t.live(i)) continue;
    const key = table === 'edges' ? [L.SG_KEY_CLIENT, L.SG_KEY_SERVER] : [L.PAIR_KEY_CLIENT, L.PAIR_KEY_SERVER];
    const value = t.value(i, table === 'edges' ? L.SG_V_REQUESTS : L.PAIR_V_COUNT);
    out.push(`${core.label(t.key(i, key[0]!))}->${core.label(t.key(i, key[1]!))} ${value}`);
  }
  return out.sort();
}

describe('service-graph filter policies keep the filtered side', () => {
  const client: S = { kind: CLIENT, traceId: 1, spanId: 2 };
  const server: S = { kind: SERVER, traceId: 1, spanId: 3, parent: 2 };

  it('without a policy the pair makes one edge svc-a->svc-b (the control)', async () => {
    const core = await graphs([]);
    core.ingest(request([['svc-a', [client]], ['svc-b', [server]]]), NOW);
    expect(rows(core, 'edges')).toEqual(['svc-a->svc-b 1']);
  });

  it('client filtered first: the server span that follows makes nothing, even after the wait (Tempo: fromFilteredCounterpart)', async () => {
    const core = await graphs(EXCLUDE_SVC_A);
    core.ingest(request([['svc-a', [client]], ['svc-b', [server]]]), NOW);
    expect(core.spansFiltered('service-graphs')).toBe(1);
    expect(core.edgeStoreSize()).toBe(1); // the mark of the filtered client side
    core.expire(NOW + 10_001);
    expect(core.edgeStoreSize()).toBe(0);
    expect(rows(core, 'edges')).toEqual([]);
    expect(rows(core, 'unpaired')).toEqual([]);
    expect(core.expiredEdges('server')).toBe(0);
  });

  it('server waiting, then its client filtered: the waiting server is let go, not unpaired (Tempo: whenFilteredSpanDropsBufferedCounterpart)', async () => {
    const core = await graphs(EXCLUDE_SVC_A);
    core.ingest(request([['svc-b', [server]], ['svc-a', [client]]]), NOW);
    core.expire(Infinity);
    expect(rows(core, 'edges')).toEqual([]);
    expect(rows(core, 'unpaired')).toEqual([]);
    expect(core.expiredEdges('server')).toBe(0);
  });

  it('without the remembered side the server span would have expired as unpaired (what the mark prevents)', async () => {
    const core = await graphs([]);
    core.ingest(request([['svc-b', [server]]]), NOW);
    core.expire(Infinity);
    expect(rows(core, 'unpaired')).toEqual(['->svc-b 1']);
  });

  it('a filtered client with peer.service makes no virtual node', async () => {
    const core = await graphs(EXCLUDE_SVC_A);
    core.ingest(request([['svc-a', [{ ...client, attrs: [keyValue('peer.service', anyString('ext'))] }]]]), NOW);
    core.expire(Infinity);
    expect(rows(core, 'edges')).toEqual([]);
  });

  it('a filtered root server span leaves no mark (Tempo: filteredRootServerSpanDoesNotAddDroppedCounterpart), and makes no user edge', async () => {
    const core = await graphs(EXCLUDE_SVC_A);
    core.ingest(request([['svc-a', [{ kind: SERVER, traceId: 1, spanId: 3 }]]]), NOW);
    expect(core.spansFiltered('service-graphs')).toBe(1);
    expect(core.edgeStoreSize()).toBe(0);
    core.expire(Infinity);
    expect(rows(core, 'edges')).toEqual([]);
  });

  it('only client, server, producer and consumer spans are filtered (and counted)', async () => {
    const core = await graphs(EXCLUDE_SVC_A);
    core.ingest(request([['svc-a', [{ kind: INTERNAL, traceId: 1, spanId: 9 }]]]), NOW);
    expect(core.spansFiltered('service-graphs')).toBe(0);
  });

  it('other edges of the trace are unaffected: svc-b->svc-c still pairs', async () => {
    const core = await graphs(EXCLUDE_SVC_A);
    core.ingest(request([
      ['svc-a', [client]],
      ['svc-b', [server, { kind: CLIENT, traceId: 1, spanId: 4, parent: 3 }]],
      ['svc-c', [{ kind: SERVER, traceId: 1, spanId: 5, parent: 4 }]],
    ]), NOW);
    core.expire(Infinity);
    expect(rows(core, 'edges')).toEqual(['svc-b->svc-c 1']);
    expect(rows(core, 'unpaired')).toEqual([]);
  });
});
