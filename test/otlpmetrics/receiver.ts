// A small OTLP metrics receiver for the tests: OTLP/HTTP (POST /v1/metrics) and OTLP/gRPC
// (MetricsService/Export) servers that decode each request with protobufjs through
// src/otlp/messages.ts, keep it, and answer as the test scripts them. `compact` turns a request
// into short lines that the tests compare with hand-written expectations.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import {
  ExportMetricsServiceRequest,
  ExportMetricsServiceResponse,
  METRICS_SERVICE_EXPORT_PATH,
  ProtobufAny,
  RpcRetryInfo,
  RpcStatus,
} from '../../src/otlp/messages.js';

type LongLike = { toString(): string };
const Long = protobuf.util.Long as unknown as { fromValue(v: unknown): LongLike };

export interface PbKv {
  key: string;
  value?: { stringValue?: string };
}
export interface PbPoint {
  attributes: PbKv[];
  startTimeUnixNano: LongLike;
  timeUnixNano: LongLike;
  asDouble?: number;
  count?: LongLike;
  sum?: number;
  bucketCounts?: LongLike[];
  explicitBounds?: number[];
  exemplars?: { traceId: Uint8Array; spanId: Uint8Array; asDouble?: number; timeUnixNano: LongLike }[];
}
export interface PbMetric {
  name: string;
  description: string;
  unit: string;
  sum?: { dataPoints: PbPoint[]; aggregationTemporality: number; isMonotonic: boolean };
  histogram?: { dataPoints: PbPoint[]; aggregationTemporality: number };
}
export interface PbRequest {
  resourceMetrics: {
    resource?: { attributes: PbKv[] };
    scopeMetrics: { scope?: { name: string; version: string }; metrics: PbMetric[] }[];
  }[];
}

export function decodeRequest(body: Uint8Array): PbRequest {
  return ExportMetricsServiceRequest.decode(body) as unknown as PbRequest;
}

/** ns (a Long) as ms, exactly: the push writes whole milliseconds. */
function ms(ns: LongLike): string {
  const s = Long.fromValue(ns).toString();
  if (s === '0') return '0';
  if (!s.endsWith('000000')) return `${s}ns`;
  return s.slice(0, -6);
}

const attrs = (kv: PbKv[]): string => kv.map((a) => `${a.key}=${a.value?.stringValue ?? '?'}`).join(',');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * One line per resource, scope, metric and data point:
 *   resource service.name=spanmeter,...
 *   scope spanmeter 1.0.0
 *   sum traces_spanmetrics_calls unit= temporality=2 monotonic=true
 *     {service=api,...} 1000..10000 2 ex[trace/span 1]
 *   histogram traces_spanmetrics_latency unit= temporality=2
 *     {service=api,...} 1000..10000 count=2 sum=0.55 buckets=1,1,0 bounds=0.1,1 ex[...]
 */
export function compact(req: PbRequest, opts: { exemplars?: boolean } = {}): string[] {
  const out: string[] = [];
  const ex = (p: PbPoint): string =>
    opts.exemplars && p.exemplars && p.exemplars.length > 0
      ? ` ex[${p.exemplars.map((e) => `${hex(e.traceId).slice(-2)}/${hex(e.spanId).slice(-2)} ${e.asDouble}@${ms(e.timeUnixNano)}`).join(' ')}]`
      : '';
  for (const rm of req.resourceMetrics) {
    out.push(`resource ${attrs(rm.resource?.attributes ?? [])}`);
    for (const sm of rm.scopeMetrics) {
      out.push(`scope ${sm.scope?.name ?? ''} ${sm.scope?.version ?? ''}`);
      for (const m of sm.metrics) {
        if (m.sum) {
          out.push(`sum ${m.name} unit=${m.unit} temporality=${m.sum.aggregationTemporality} monotonic=${m.sum.isMonotonic}`);
          for (const p of m.sum.dataPoints) {
            out.push(`  {${attrs(p.attributes)}} ${ms(p.startTimeUnixNano)}..${ms(p.timeUnixNano)} ${p.asDouble}${ex(p)}`);
          }
        } else if (m.histogram) {
          out.push(`histogram ${m.name} unit=${m.unit} temporality=${m.histogram.aggregationTemporality}`);
          for (const p of m.histogram.dataPoints) {
            out.push(
              `  {${attrs(p.attributes)}} ${ms(p.startTimeUnixNano)}..${ms(p.timeUnixNano)} count=${Long.fromValue(p.count).toString()} ` +
                `sum=${p.sum} buckets=${(p.bucketCounts ?? []).map((c) => Long.fromValue(c).toString()).join(',')} ` +
                `bounds=${(p.explicitBounds ?? []).join(',')}${ex(p)}`,
            );
          }
        } else {
          out.push(`other ${m.name}`);
        }
      }
    }
  }
  return out;
}

export interface Received {
  request: PbRequest;
  /** HTTP headers, or gRPC metadata as a map of first values. */
  headers: Record<string, string>;
  at: number;
  path: string;
}

/** What the receiver answers to the nth request (the last one repeats). */
export type HttpAnswer = { status: number; headers?: Record<string, string>; body?: Uint8Array };
export type GrpcAnswer = { code: grpc.status; retryDelayMs?: number } | { ok: true; rejected?: number; message?: string };

export interface TestReceiver {
  /** http://127.0.0.1:port */
  url: string;
  received: Received[];
  close(): Promise<void>;
}

function flatHeaders(h: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
}

export async function startHttpReceiver(answers: HttpAnswer[] = [{ status: 200 }]): Promise<TestReceiver> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ request: decodeRequest(Buffer.concat(chunks)), headers: flatHeaders(req.headers), at: performance.now(), path: req.url ?? '' });
      const a = answers[Math.min(received.length - 1, answers.length - 1)]!;
      const body = a.body ?? ExportMetricsServiceResponse.encode({}).finish();
      res.writeHead(a.status, { 'Content-Type': 'application/x-protobuf', ...a.headers }).end(Buffer.from(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function startGrpcReceiver(answers: GrpcAnswer[] = [{ ok: true }]): Promise<TestReceiver> {
  const received: Received[] = [];
  const server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  server.addService(
    {
      Export: {
        path: METRICS_SERVICE_EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const md = call.metadata.getMap();
        received.push({
          request: decodeRequest(call.request),
          headers: Object.fromEntries(Object.entries(md).map(([k, v]) => [k, String(v)])),
          at: performance.now(),
          path: METRICS_SERVICE_EXPORT_PATH,
        });
        const a = answers[Math.min(received.length - 1, answers.length - 1)]!;
        if ('ok' in a) {
          const partial = a.rejected || a.message ? { partialSuccess: { rejectedDataPoints: a.rejected ?? 0, errorMessage: a.message ?? '' } } : {};
          callback(null, Buffer.from(ExportMetricsServiceResponse.encode(partial).finish()));
          return;
        }
        const metadata = new grpc.Metadata();
        if (a.retryDelayMs !== undefined) {
          const info = RpcRetryInfo.encode({ retryDelay: { seconds: Math.floor(a.retryDelayMs / 1000), nanos: (a.retryDelayMs % 1000) * 1e6 } }).finish();
          const status = RpcStatus.encode({
            code: a.code,
            message: 'slow down',
            details: [ProtobufAny.create({ typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: info })],
          }).finish();
          metadata.set('grpc-status-details-bin', Buffer.from(status));
        }
        callback({ code: a.code, details: 'scripted failure', metadata });
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())),
  };
}
