// The routing of the Collector's (and Alloy's) `loadbalancing` exporter with
// `routing_key: traceID`, written for the tests from its documented behaviour:
//
// - the static resolver sorts its hostnames (byte order) and passes them on as written;
// - the ring: for each endpoint in that order, 100 points at crc32(endpoint bytes + one byte i)
//   mod 36000, i = 0..99 (CRC-32/IEEE); a point already taken by an earlier endpoint is
//   skipped; the points are sorted by position;
// - a trace goes to the first point at or after crc32(its 16 trace-id bytes) mod 36000,
//   wrapping around to the lowest point.
//
// Each incoming batch is split by trace id and every trace goes whole to one endpoint.
// trace-id-ring.test.ts checks this against the exporter's own published test vectors.
import { crc32 } from 'node:zlib';

/** Positions on the ring: 360 degrees with two decimals. */
export const RING_POSITIONS = 36000;
/** Points per endpoint (the exporter's default weight). */
export const POINTS_PER_ENDPOINT = 100;

export interface RingPoint {
  pos: number;
  endpoint: string;
}

/** The ring's points for `endpoints` in the given order (the resolver sorts them first). */
export function ringPoints(endpoints: string[], points = POINTS_PER_ENDPOINT): RingPoint[] {
  const taken = new Set<number>();
  const out: RingPoint[] = [];
  for (const endpoint of endpoints) {
    const name = Buffer.from(endpoint, 'utf8');
    for (let i = 0; i < points; i++) {
      const pos = crc32(Buffer.concat([name, Buffer.of(i & 0xff)])) % RING_POSITIONS;
      if (taken.has(pos)) continue;
      taken.add(pos);
      out.push({ pos, endpoint });
    }
  }
  return out.sort((a, b) => a.pos - b.pos);
}

export class TraceIdRing {
  readonly points: RingPoint[];

  /** `hostnames` as in `resolver.static.hostnames`; the order does not matter. */
  constructor(hostnames: string[]) {
    if (hostnames.length === 0) throw new Error('no endpoints');
    this.points = ringPoints([...hostnames].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  }

  /** The endpoint that gets the trace with these 16 id bytes. */
  endpointFor(traceId: Uint8Array): string {
    const pos = crc32(traceId) % RING_POSITIONS;
    const next = this.points.find((p) => p.pos >= pos) ?? this.points[0]!;
    return next.endpoint;
  }
}
