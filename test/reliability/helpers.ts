// Shared pieces of the reliability tests: OTLP requests built from plain objects, a unary gRPC
// call with raw bytes, an HTTP request with full control of headers and body timing.
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import { EXPORT_METHOD_PATH } from '../../src/receivers/grpc.js';
import { RpcRetryInfo, RpcStatus } from '../../src/otlp/messages.js';
import { encodeRequest, type Msg } from '../support/otlp-input.js';

let seq = 0;
function id(n: number): Uint8Array {
  const b = new Uint8Array(n);
  const v = ++seq;
  for (let i = 0; i < 4; i++) b[n - 1 - i] = (v >>> (8 * i)) & 0xff;
  b[0] = 1;
  return b;
}

/** One request of `spans` server spans of `service`, named `name`, ending now. */
export function requestMsg(service: string, spans: number, name = 'op'): Msg {
  const end = Date.now() * 1e6;
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        spans: Array.from({ length: spans }, () => ({
          traceId: id(16), spanId: id(8), name, kind: 2, startTimeUnixNano: end - 5e6, endTimeUnixNano: end,
        })),
      }],
    }],
  };
}

/** One request of server spans of `service`, one per name, ending at `endNs` (default now). */
export function namedSpansRequest(service: string, names: readonly string[], endNs = Date.now() * 1e6): Uint8Array {
  return encodeRequest({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ spans: names.map((name) => ({ traceId: id(16), spanId: id(8), name, kind: 2, startTimeUnixNano: endNs - 5e6, endTimeUnixNano: endNs })) }],
    }],
  });
}

export function request(service: string, spans: number, name = 'op'): Uint8Array {
  return encodeRequest(requestMsg(service, spans, name));
}

export interface GrpcOutcome {
  code: number;
  details: string;
  metadata?: grpc.Metadata;
}

export function grpcCall(client: grpc.Client, bytes: Uint8Array, metadata = new grpc.Metadata()): Promise<GrpcOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT_METHOD_PATH,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      bytes,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err: grpc.ServiceError | null) => {
        if (err) resolve({ code: err.code, details: err.details, metadata: err.metadata });
        else resolve({ code: 0, details: '' });
      },
    );
  });
}

/** The RetryInfo delay (ms) of a google.rpc.Status, or undefined without one. */
export function retryDelayMs(statusBytes: Uint8Array): { code: number; delayMs: number | undefined } {
  const st = RpcStatus.decode(statusBytes) as unknown as { code: number; details: { typeUrl: string; value: Uint8Array }[] };
  const d = st.details?.find((x) => x.typeUrl === 'type.googleapis.com/google.rpc.RetryInfo');
  if (!d) return { code: st.code, delayMs: undefined };
  const ri = RpcRetryInfo.decode(d.value) as unknown as { retryDelay: { seconds: number | { toNumber(): number }; nanos: number } };
  const s = typeof ri.retryDelay.seconds === 'number' ? ri.retryDelay.seconds : ri.retryDelay.seconds.toNumber();
  return { code: st.code, delayMs: s * 1000 + (ri.retryDelay.nanos ?? 0) / 1e6 };
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Reads a response fully. */
export function answerOf(req: http.ClientRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Starts a POST /v1/traces and returns it unfinished: the caller writes and ends the body. */
export function openPost(address: string, headers: Record<string, string>, agent?: http.Agent): http.ClientRequest {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), address.slice(address.lastIndexOf(':') + 1)];
  const req = http.request({ host, port, path: '/v1/traces', method: 'POST', headers, agent: agent ?? false });
  req.flushHeaders();
  return req;
}

export async function post(address: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const req = openPost(address, { 'Content-Type': 'application/x-protobuf', 'Content-Length': String(body.length), ...headers });
  const answer = answerOf(req);
  req.end(body);
  return answer;
}

export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
