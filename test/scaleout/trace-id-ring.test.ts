// The test's copy of the loadbalancing exporter's trace-id routing (trace-id-ring.ts) against
// the exporter's own published test vectors (consistent_hashing_test.go in
// open-telemetry/opentelemetry-collector-contrib, exporter/loadbalancingexporter) and the
// CRC-32/IEEE check value, so that three-instances.test.ts routes as a real Collector would.
import { crc32 } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { traceId } from '../servicegraphs/helpers.js';
import { ringPoints, TraceIdRing } from './trace-id-ring.js';

describe('trace-id ring of the loadbalancing exporter', () => {
  test('CRC-32/IEEE check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  test('positions of endpoint-1 and endpoint-2 with 5 points each (the exporter test vector)', () => {
    expect(ringPoints(['endpoint-1'], 5)).toEqual([1401, 4175, 14133, 17836, 21667].map((pos) => ({ pos, endpoint: 'endpoint-1' })));
    // a repeated endpoint adds nothing: its positions are taken
    expect(ringPoints(['endpoint-1', 'endpoint-1'], 5)).toEqual(ringPoints(['endpoint-1'], 5));
    expect(ringPoints(['endpoint-1', 'endpoint-2'], 5).map((p) => `${p.pos}:${p.endpoint.slice(-1)}`)).toEqual([
      '1401:1', '4175:1', '10240:2', '14133:1', '15002:2', '17836:1', '21263:2', '21667:1', '26806:2', '27020:2',
    ]);
  });

  test('100 points per endpoint; trace ids 0102… and 8080… go to endpoint-1 and endpoint-2', () => {
    const ring = new TraceIdRing(['endpoint-2', 'endpoint-1']);
    expect(ring.points).toHaveLength(200);
    const id = (a: number, b: number): Uint8Array => Uint8Array.from([a, b, ...new Array<number>(14).fill(0)]);
    expect(ring.endpointFor(id(1, 2))).toBe('endpoint-1');
    expect(ring.endpointFor(id(128, 128))).toBe('endpoint-2');
  });

  test('the hostnames order does not matter; a position past the last point wraps to the first', () => {
    const names = ['spanmeter-0:4317', 'spanmeter-1:4317', 'spanmeter-2:4317'];
    const a = new TraceIdRing(names);
    const b = new TraceIdRing([...names].reverse());
    expect(b.points).toEqual(a.points);
    for (let t = 0; t < 50; t++) expect(b.endpointFor(traceId(t))).toBe(a.endpointFor(traceId(t)));
    const last = a.points[a.points.length - 1]!;
    // find a trace id hashing past the last point: it belongs to the first point's endpoint
    let t = 0;
    while (crc32(traceId(t)) % 36000 <= last.pos) t++;
    expect(a.endpointFor(traceId(t))).toBe(a.points[0]!.endpoint);
  });
});
