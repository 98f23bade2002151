// src/net/hpack.ts against grpc-go's HPACK encoder (golang.org/x/net/http2/hpack): the real
// Collector's `otlp` exporters send to recording proxies (test/net/h2record.ts) in front of a real
// node:http2 gRPC server. Each header block our decoder reads must equal what nghttp2 (the server)
// read from the same bytes, and hold what the exporter was told to send. One exporter sees our
// default table (4096 octets); the other a 64-octet table, so grpc-go sends a dynamic table size
// update and evicts constantly.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateWorkload } from '../../src/workload/workload.js';
import { closers, recordingPair } from '../net/h2record.js';
import { postTraces } from '../support/sidecar.js';
import { freePorts, startOtelcol, type Otelcol } from './support/otelcol.js';

const CALLS = 4;
const PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export'; // OTLP spec, trace service

describe('HPACK: grpc-go blocks (the Collector\'s otlp exporter)', () => {
  let otelcol: Otelcol | undefined;
  let recs: Array<Awaited<ReturnType<typeof recordingPair>>> = [];
  let otlpHttpUrl = '';

  beforeAll(async () => {
    recs = [await recordingPair(4096, true), await recordingPair(64, true)];
    const [httpPort] = await freePorts(1);
    otlpHttpUrl = `http://127.0.0.1:${httpPort}`;
    const exporter = (port: number, tenant: string) => ({
      endpoint: `127.0.0.1:${port}`,
      tls: { insecure: true },
      headers: { 'x-tenant': tenant, authorization: 'Bearer s3cret' },
      // one export per request, in order (the default queue would batch and reorder them)
      sending_queue: { enabled: false },
      retry_on_failure: { enabled: false },
    });
    otelcol = await startOtelcol({
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` } } } },
      exporters: { 'otlp/big': exporter(recs[0]!.port, 'acme'), 'otlp/small': exporter(recs[1]!.port, 'globex') },
      service: { pipelines: { traces: { receivers: ['otlp'], exporters: ['otlp/big', 'otlp/small'] } } },
    }, { label: 'collector' });
  }, 120_000);

  afterAll(async () => {
    await otelcol?.stop();
    while (closers.length) closers.pop()!();
  });

  test('every block reads as nghttp2 reads it and holds the exporter\'s headers', async () => {
    const { batches } = generateWorkload({ seed: 20, batches: CALLS, spansPerBatch: 10 });
    for (const body of batches) {
      const res = await postTraces({ otlpHttpUrl }, body, 'application/x-protobuf');
      expect(res.status, res.text).toBe(200);
    }
    for (const [k, rec] of recs.entries()) {
      expect(rec.errors).toEqual([]);
      expect(rec.ours.size).toBe(CALLS);
      for (const [id, ours] of rec.ours) {
        expect(ours).toEqual(rec.theirs.get(id));
        // gRPC over HTTP/2 (PROTOCOL-HTTP2.md, Request-Headers); the exporter's compression
        // default gzip (its README); the headers its config gave it
        expect(Object.fromEntries(ours)).toMatchObject({
          ':method': 'POST', ':scheme': 'http', ':path': PATH, te: 'trailers', 'content-type': 'application/grpc',
          'grpc-encoding': 'gzip', 'x-tenant': k === 0 ? 'acme' : 'globex', authorization: 'Bearer s3cret',
        });
      }
    }
    // the 4096 table: after the first call the blocks shrink to indexes and the changing grpc-timeout
    const big = recs[0]!.blocks;
    for (const b of big.slice(1)) expect(b.length).toBeLessThan(big[0]!.length / 2);
    expect(recs[0]!.decoders[0]!.tableLength).toBeGreaterThan(0);
    // the 64 table: grpc-go's update to 64 at a block's start (6.3: 001 prefix, 5 bits: 31 + 0x21 = 64)
    expect(recs[1]!.blocks.some((b) => b.subarray(0, 2).equals(Buffer.from([0x3f, 0x21])))).toBe(true);
    expect(recs[1]!.decoders[0]!.tableSize).toBeLessThanOrEqual(64);
  });
});
