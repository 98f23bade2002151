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

  // the vectors of consistent_hashing_test.go at contrib v0.141.0 (TestPositionsForEndpoints, TestEndpointFor)
  test('positions of endpoint-1, and of endpoint-A and endpoint-B, with 5 points each (the exporter test vectors)', () => {
    expect(ringPoints(['endpoint-1'], 5)).toEqual([0x21ca, 0x29d3, 0x3984, 0x5eaf, 0x8bc1].map((pos) => ({ pos, endpoint: 'endpoint-1' })));
    // a repeated endpoint: each clash takes the next free position
    expect(ringPoints(['endpoint-1', 'endpoint-1'], 5).map((p) => p.pos)).toEqual(
      [0x21ca, 0x21cb, 0x29d3, 0x29d4, 0x3984, 0x3985, 0x5eaf, 0x5eb0, 0x8bc1, 0x8bc2],
    );
    expect(ringPoints(['endpoint-A', 'endpoint-B'], 5).map((p) => `${p.pos.toString(16)}:${p.endpoint.slice(-1)}`)).toEqual([
      'dde:B', '162e:A', '21f5:B', '34e5:A', '61fb:B', '6910:B', '76a0:A', '7e2b:A', '7f7c:A', '85ac:B',
    ]);
  });

  test('100 points per endpoint; the ids of the exporter test go to its endpoints', () => {
    const ring = new TraceIdRing(['endpoint-2', 'endpoint-1']);
    expect(ring.points).toHaveLength(200);
    expect(ring.endpointFor(Uint8Array.of(1, 2, 0, 0))).toBe('endpoint-2');
    expect(ring.endpointFor(Uint8Array.of(128, 128, 0, 0))).toBe('endpoint-1');
    expect(ring.endpointFor(Buffer.from('ad-service-7'))).toBe('endpoint-2');
    expect(ring.endpointFor(Buffer.from('get-recommendations-1'))).toBe('endpoint-1');
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
