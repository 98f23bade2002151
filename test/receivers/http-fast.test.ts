// The OTLP/HTTP receiver's fast path (src/receivers/http-fast.ts) against raw sockets: what it
// reads itself (pipelined requests, bodies in pieces), what it hands to node:http (a head split
// across packets, JSON, chunked bodies) on the same connection, and its answers and limits,
// compared with node:http's own answers to the same requests.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpReceiver } from '../../src/receivers/http.js';
import type { RunningServer } from '../../src/net/server.js';
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { Telemetry } from '../../src/telemetry.js';
import type { ReceiverLimits } from '../../src/receivers/types.js';
import { RecordingConsumer } from './support.js';

const LIMIT = 64 * 1024;
let servers: RunningServer[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

function body(names: string[]): Buffer {
  return Buffer.from(ExportTraceServiceRequest.encode({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [{ spans: names.map((name, i) => ({ traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(i + 1), name, kind: 2, startTimeUnixNano: 1, endTimeUnixNano: 2 })) }],
    }],
  }).finish());
}

/** The bytes of one POST /v1/traces (HTTP/1.1 framing by hand, RFC 9112). */
function post(b: Buffer, extra = ''): Buffer {
  return Buffer.concat([Buffer.from(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${b.length}\r\n${extra}\r\n`, 'latin1'), b]);
}

async function start(limits: Partial<ReceiverLimits> = {}) {
  const consumer = new RecordingConsumer();
  const telemetry = new Telemetry({ defaultMetrics: false });
  const server = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: LIMIT, consumer, telemetry, limits, closeGraceMs: 100 });
  servers.push(server);
  const port = Number(server.address.slice(server.address.lastIndexOf(':') + 1));
  return { consumer, telemetry, server, port };
}

/** A raw connection: everything the server sends, and a promise of it once the server closes. */
function connect(port: number): { socket: net.Socket; received: () => string; closed: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => {});
  let answer = '';
  socket.on('data', (c: Buffer) => { answer += c.toString('latin1'); });
  return { socket, received: () => answer, closed: new Promise((resolve) => socket.once('close', () => resolve(answer))) };
}

/** The status lines in what a connection received (an answer's body may end where the next status line starts). */
const statusLines = (text: string) => text.match(/HTTP\/1\.1 \d{3} [^\r]*/g) ?? [];
const until = async (f: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('OTLP/HTTP fast path', () => {
  it('answers pipelined requests in order, each counted once', async () => {
    const { consumer, port } = await start();
    const c = connect(port);
    // Three requests in one write (RFC 9112 §9.3.2: a server may process pipelined requests in order).
    c.socket.write(Buffer.concat([post(body(['a'])), post(body(['b', 'c'])), post(body(['d']))]));
    await until(() => statusLines(c.received()).length === 3);
    expect(statusLines(c.received())).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(consumer.arrivals.map((a) => a.names)).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it('answers an empty body (Content-Length: 0) at once', async () => {
    const { consumer, port } = await start();
    const c = connect(port);
    c.socket.write(post(Buffer.alloc(0)));
    await until(() => statusLines(c.received()).length === 1);
    // Zero bytes are an empty ExportTraceServiceRequest (proto3: every field absent), which is valid.
    expect(statusLines(c.received())).toEqual(['HTTP/1.1 200 OK']);
    expect(consumer.arrivals).toEqual([{ services: [], names: [] }]);
  });

  it('500 when the consumer throws (ingest.ts answers INTERNAL), and the connection serves the next request', async () => {
    const { consumer, port } = await start();
    consumer.throwNext = new Error('boom');
    const c = connect(port);
    c.socket.write(post(body(['x'])));
    await until(() => statusLines(c.received()).length === 1);
    c.socket.write(post(body(['y'])));
    await until(() => statusLines(c.received()).length === 2);
    expect(statusLines(c.received())).toEqual(['HTTP/1.1 500 Internal Server Error', 'HTTP/1.1 200 OK']);
    expect(c.received()).toContain('internal error'); // ingest.ts's message for an error that is not an OtlpError
    expect(consumer.arrivals.map((a) => a.names)).toEqual([['y']]);
  });

  it('reads a body that comes a few bytes at a time', async () => {
    const { consumer, port } = await start();
    const c = connect(port);
    const bytes = post(body(['slow', 'but', 'whole']));
    for (let at = 0; at < bytes.length; at += 7) {
      c.socket.write(bytes.subarray(at, at + 7));
      await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => statusLines(c.received()).length === 1);
    expect(statusLines(c.received())).toEqual(['HTTP/1.1 200 OK']);
    expect(consumer.arrivals.map((a) => a.names)).toEqual([['slow', 'but', 'whole']]);
  });

  it('hands a connection to node:http at a request it does not take, and node:http serves the rest', async () => {
    const { consumer, port } = await start();
    const c = connect(port);
    c.socket.write(post(body(['fast'])));
    await until(() => statusLines(c.received()).length === 1);
    // JSON (node:http's path), then a chunked protobuf body (RFC 9112 §7.1), then plain protobuf again.
    const json = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans: [{ traceId: '01'.repeat(16), spanId: '02'.repeat(8), name: 'json', kind: 2, startTimeUnixNano: '1', endTimeUnixNano: '2' }] }] }] });
    c.socket.write(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    await until(() => statusLines(c.received()).length === 2);
    const chunked = body(['chunked']);
    c.socket.write(Buffer.concat([
      Buffer.from(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n${chunked.length.toString(16)}\r\n`),
      chunked, Buffer.from('\r\n0\r\n\r\n'),
    ]));
    await until(() => statusLines(c.received()).length === 3);
    c.socket.write(post(body(['after'])));
    await until(() => statusLines(c.received()).length === 4);
    expect(statusLines(c.received())).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(consumer.arrivals.map((a) => a.names)).toEqual([['fast'], ['json'], ['chunked'], ['after']]);
  });

  it('a head split across packets is read whole (by node:http)', async () => {
    const { consumer, port } = await start();
    const c = connect(port);
    const bytes = post(body(['split']));
    c.socket.write(bytes.subarray(0, 20));
    await new Promise((r) => setTimeout(r, 30));
    c.socket.write(bytes.subarray(20));
    await until(() => statusLines(c.received()).length === 1);
    expect(statusLines(c.received())).toEqual(['HTTP/1.1 200 OK']);
    expect(consumer.arrivals.map((a) => a.names)).toEqual([['split']]);
  });

  it('answers with the headers node:http answers with', async () => {
    const { port } = await start();
    // The same accepted request, once on the fast path and once chunked (which node:http reads).
    const one = (headers: Record<string, string | number>, write: (req: http.ClientRequest) => void) => new Promise<Record<string, unknown>>((resolve, reject) => {
      const agent = new http.Agent({ keepAlive: true });
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/traces', agent, headers }, (res) => {
        res.on('close', () => agent.destroy());
        res.resume();
        res.on('end', () => resolve({ ...res.headers, status: res.statusCode }));
      });
      req.on('error', reject);
      write(req);
    });
    const b = body(['h']);
    const fast = await one({ 'Content-Type': 'application/x-protobuf', 'Content-Length': b.length }, (req) => req.end(b));
    const node = await one({ 'Content-Type': 'application/x-protobuf', 'Transfer-Encoding': 'chunked' }, (req) => req.end(b));
    expect(typeof fast.date).toBe('string');
    expect(Math.abs(Date.parse(fast.date as string) - Date.parse(node.date as string))).toBeLessThanOrEqual(2000);
    delete fast.date;
    delete node.date;
    expect(fast).toEqual(node);
    expect(fast).toEqual({ status: 200, 'content-type': 'application/x-protobuf', 'content-length': '0', connection: 'keep-alive', 'keep-alive': 'timeout=60' });
  });

  it('a refused request on the fast path: 400 with a protobuf Status, the connection kept', async () => {
    const { consumer, port } = await start();
    const c = connect(port);
    c.socket.write(post(body(['poison'])));
    await until(() => c.received().includes('\r\n\r\n') && statusLines(c.received()).length === 1);
    c.socket.write(post(body(['fine'])));
    await until(() => statusLines(c.received()).length === 2);
    expect(statusLines(c.received())).toEqual(['HTTP/1.1 400 Bad Request', 'HTTP/1.1 200 OK']);
    // RecordingConsumer's reason for a span named poison (test/receivers/support.ts).
    expect(c.received()).toContain('span "poison" is not welcome');
    expect(consumer.arrivals.map((a) => a.names)).toEqual([['fine']]);
  });

  it('a sender that stops halfway through a body and closes its side gets 400, as from node:http', async () => {
    const { consumer, port } = await start();
    const c = connect(port);
    const bytes = post(body(['half']));
    c.socket.end(bytes.subarray(0, bytes.length - 3));
    expect(statusLines(await c.closed)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(consumer.arrivals).toEqual([]);
  });

  it('closes a keep-alive connection idle for idle_timeout', async () => {
    const { port } = await start({ idle_timeout: 200 });
    const c = connect(port);
    c.socket.write(post(body(['idle'])));
    await until(() => statusLines(c.received()).length === 1);
    const t0 = Date.now();
    const answer = await c.closed;
    const waited = Date.now() - t0;
    expect(statusLines(answer)).toEqual(['HTTP/1.1 200 OK']);
    expect(answer).toContain('Keep-Alive: timeout=0\r\n'); // floor(200 ms / 1000), as node:http writes it
    expect(waited).toBeGreaterThanOrEqual(150);
  });

  it('a connection that sends nothing gets 408 after read_header_timeout, counted as read_timeout', async () => {
    const { port, telemetry } = await start({ read_header_timeout: 200, read_timeout: 400 });
    const c = connect(port);
    const answer = await c.closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/); // node:http's answer (net/timeouts.ts)
    expect(await telemetry.render('text')).toContain('spanmeter_ingest_cut_total{protocol="http",reason="read_timeout"} 1\n');
  });
});
