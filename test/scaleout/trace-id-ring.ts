// The routing of the Collector's (and Alloy's) `loadbalancing` exporter with
// `routing_key: traceID`, written for the tests from its documented behaviour:
//
// - the static resolver sorts its hostnames (byte order) and passes them on as written;
// - the ring: for each endpoint in that order, 100 points at crc32(endpoint bytes + i as 4 bytes
//   little-endian) mod 36000, i = 0..99 (CRC-32/IEEE); a position already taken moves to the
//   next free one (+1, up to 10 probes, else the point is left out); the points are sorted by
//   position (the exporter as of Collector contrib v0.141.0, which test/interop/
//   loadbalancing.test.ts runs for real);
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
/** How many following positions a point may move to when its own is taken. */
export const LINEAR_PROBE_LIMIT = 10;

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
    const index = Buffer.alloc(4);
    for (let i = 0; i < points; i++) {
      index.writeUInt32LE(i);
      let pos = crc32(Buffer.concat([name, index])) % RING_POSITIONS;
      let probed = 0;
      while (taken.has(pos) && probed < LINEAR_PROBE_LIMIT) {
        pos = (pos + 1) % RING_POSITIONS;
        probed++;
      }
      if (probed >= LINEAR_PROBE_LIMIT) continue;
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
