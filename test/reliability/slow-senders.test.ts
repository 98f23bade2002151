// The ingest budget is not a cheap lock (issue 21 item 3). Before, 256 slow bodies, 256
// header-only gRPC calls or 256 calls from a client whose flow-control window stays 0 held every
// request slot (HTTP until Node's 300 s request timeout, gRPC forever), and each legitimate sender
// got 429 / UNAVAILABLE. Now: an HTTP request must be received and answered within
// otlp.write_timeout (Go's WriteTimeout, the Collector's 30 s), a body that stops coming while it
// holds budget is cut after otlp.stalled_request_timeout, a gRPC call takes budget only once its
// length prefix has come, and a call that cannot be answered is reset. The timeouts are set small
// here (0.3 to 1.5 s) so that each attack ends within seconds; the legitimate sender is counted
// exactly once. Loopback only, every attack bounded in count (256) and time.
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestBudget } from '../../src/receivers/budget.js';
import { EXPORT_METHOD_PATH, startGrpcReceiver } from '../../src/receivers/grpc.js';
import { startHttpReceiver } from '../../src/receivers/http.js';
import type { ReceiverLimits } from '../../src/receivers/types.js';
import type { RunningServer } from '../../src/net/server.js';
import { Telemetry } from '../../src/telemetry.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { RecordingConsumer } from '../receivers/support.js';
import { grpcCall, post, request, until } from './helpers.js';

const MiB = 1 << 20;
let servers: RunningServer[] = [];
const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) c();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** Both receivers on one budget of the default size (256 MiB, 256 requests), with `limits`. */
async function setup(limits: Partial<ReceiverLimits>) {
  const budget = new IngestBudget({ maxBytes: 256 * MiB, maxRequests: 256 });
  const consumer = new RecordingConsumer();
  const telemetry = new Telemetry({ defaultMetrics: false });
  const common = { maxBodyBytes: 64 * MiB, consumer, telemetry, budget, limits, closeGraceMs: 100 };
  const httpSrv = await startHttpReceiver({ endpoint: '127.0.0.1:0', ...common });
  const grpcSrv = await startGrpcReceiver({ endpoint: '127.0.0.1:0', ...common });
  servers.push(httpSrv, grpcSrv);
  const cuts = async (protocol: string, reason: string): Promise<number> =>
    parsePrometheusText(await telemetry.render('text')).samples
      .find((x) => x.name === 'spanmeter_ingest_cut_total' && x.labels.protocol === protocol && x.labels.reason === reason)?.value ?? NaN;
  return { budget, consumer, httpSrv, grpcSrv, cuts };
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

/** A raw connection that sends `head` and then whatever the caller writes; resolves once closed by the server. */
function rawSocket(address: string, head: string): { socket: net.Socket; closed: Promise<string> } {
  const socket = net.connect({ host: '127.0.0.1', port: portOf(address) });
  socket.on('error', () => {});
  cleanup.push(() => socket.destroy());
  let answer = '';
  socket.on('data', (c: Buffer) => { answer += c.toString('latin1'); });
  socket.write(head);
  return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve(answer))) };
}

const POST_HEAD = (length: number) =>
  `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${length}\r\n\r\n`;

describe('HTTP senders that hold the budget (issue 21 item 3)', () => {
  it('four sockets declaring 64 MiB and sending nothing are cut after stalled_request_timeout; the budget comes back', async () => {
    const { budget, consumer, httpSrv, cuts } = await setup({ stalled_request_timeout: 300, write_timeout: 0 });
    const attackers = Array.from({ length: 4 }, () => rawSocket(httpSrv.address, POST_HEAD(64 * MiB)));
    // 4 × 64 MiB = the whole 256 MiB budget (budget.ts: declared lengths are reserved up front).
    await until(() => budget.inflightBytes === 256 * MiB);
    expect(budget.full).toBe(true);
    expect((await post(httpSrv.address, request('legit', 3))).status).toBe(429);
    await Promise.all(attackers.map((a) => a.closed));
    // (cut by the 300 ms stall timeout: Node's own 300 s request timeout would outlast the test)
    await until(() => budget.inflightRequests === 0);
    expect([budget.inflightRequests, budget.inflightBytes, budget.full]).toEqual([0, 0, false]);
    const ok = await post(httpSrv.address, request('legit', 3));
    expect(ok.status).toBe(200);
    expect(consumer.arrivals.map((a) => a.services)).toEqual([['legit', 'legit', 'legit']]);
    expect(await cuts('http', 'stalled')).toBe(4);
  });

  it('256 slow bodies (a byte every 100 ms) are cut by write_timeout; the legitimate sender is then served exactly once', async () => {
    const { budget, consumer, httpSrv, cuts } = await setup({ stalled_request_timeout: 1000, write_timeout: 1500 });
    const attackers = Array.from({ length: 256 }, () => rawSocket(httpSrv.address, POST_HEAD(1000)));
    const drip = setInterval(() => { for (const a of attackers) if (!a.socket.destroyed) a.socket.write('x'); }, 100);
    cleanup.push(() => clearInterval(drip));
    await until(() => budget.inflightRequests === 256);
    // every request slot is taken: the sender is throttled (429), as it was before for 300 s
    expect((await post(httpSrv.address, request('legit', 2))).status).toBe(429);
    // each stays under the stall timeout (a byte every 100 ms) but not under write_timeout
    await Promise.all(attackers.map((a) => a.closed));
    clearInterval(drip);
    await until(() => budget.inflightRequests === 0); // the server sees its own close a moment later
    expect(budget.inflightBytes).toBe(0);
    expect((await post(httpSrv.address, request('legit', 2))).status).toBe(200);
    expect(consumer.arrivals.map((a) => a.services)).toEqual([['legit', 'legit']]);
    expect(await cuts('http', 'write_timeout')).toBe(256);
    expect(await cuts('http', 'stalled')).toBe(0);
  });

  it('headers that never end get 408 after read_header_timeout', async () => {
    const { httpSrv, cuts } = await setup({ read_header_timeout: 300, read_timeout: 600 });
    const a = rawSocket(httpSrv.address, 'POST /v1/traces HTTP/1.1\r\nHost: x\r\n');
    const answer = await a.closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/); // Node's answer, kept (net/timeouts.ts)
    expect(await cuts('http', 'read_timeout')).toBe(1);
  });
});

describe('gRPC calls that hold the budget (issue 21 items 2 and 3)', () => {
  function connect(address: string, settings: http2.Settings = {}): http2.ClientHttp2Session {
    const session = http2.connect(`http://${address}`, { settings });
    session.on('error', () => {});
    cleanup.push(() => session.destroy());
    return session;
  }
  const CALL_HEADERS = { ':method': 'POST', ':path': EXPORT_METHOD_PATH, 'content-type': 'application/grpc', te: 'trailers' };
  /** Opens a call; resolves with its grpc-status (or `rst:<code>` when reset without one) once closed. */
  function open(session: http2.ClientHttp2Session): { stream: http2.ClientHttp2Stream; outcome: Promise<string> } {
    const stream = session.request(CALL_HEADERS);
    stream.on('error', () => {});
    let status: string | undefined;
    stream.on('response', (h) => { if (h['grpc-status'] !== undefined) status = String(h['grpc-status']); });
    stream.on('trailers', (h) => { if (h['grpc-status'] !== undefined) status = String(h['grpc-status']); });
    stream.resume();
    return { stream, outcome: new Promise((resolve) => stream.once('close', () => resolve(status ?? `rst:${stream.rstCode}`))) };
  }
  const prefix = (flag: number, length: number) => {
    const b = Buffer.alloc(5);
    b[0] = flag;
    b.writeUInt32BE(length, 1);
    return b;
  };

  it('256 header-only calls on one connection hold no budget; 100 are let in (max_concurrent_streams) and cut by write_timeout', async () => {
    const { budget, consumer, grpcSrv, cuts } = await setup({ write_timeout: 800 });
    const session = connect(grpcSrv.address);
    const calls = Array.from({ length: 256 }, () => open(session));
    await until(() => calls.filter((c) => c.stream.id !== undefined).length >= 100);
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100); // otlp.max_concurrent_streams' default
    // Nothing reserved by headers alone: a legitimate client on its own connection is served now.
    expect([budget.inflightRequests, budget.inflightBytes]).toEqual([0, 0]);
    const client = new grpc.Client(grpcSrv.address, grpc.credentials.createInsecure());
    cleanup.push(() => client.close());
    expect((await grpcCall(client, request('legit', 4))).code).toBe(grpc.status.OK);
    expect(consumer.arrivals.map((a) => a.services[0])).toEqual(['legit']);
    const outcomes = await Promise.all(calls.map((c) => c.outcome));
    // 100: the default max_concurrent_streams (docs/config.md), each answered UNAVAILABLE (14,
    // gRPC doc/statuscodes.md) at write_timeout; Node's client holds the others back until then
    // and they go the same way in turn.
    expect(outcomes.every((o) => o === '14')).toBe(true);
    expect(await cuts('grpc', 'write_timeout')).toBe(256);
  });

  it('a call whose message stops coming after its prefix holds 60 MiB until stalled_request_timeout, then UNAVAILABLE', async () => {
    const { budget, grpcSrv, cuts } = await setup({ stalled_request_timeout: 300, write_timeout: 0 });
    const session = connect(grpcSrv.address);
    const call = open(session);
    call.stream.write(Buffer.concat([prefix(0, 60 * MiB), Buffer.alloc(1000)]));
    // The prefix reserves the whole message (5 + 60 MiB) at once.
    await until(() => budget.inflightBytes === 5 + 60 * MiB);
    expect(await call.outcome).toBe('14');
    expect([budget.inflightRequests, budget.inflightBytes]).toEqual([0, 0]);
    expect(await cuts('grpc', 'stalled')).toBe(1);
  });

  it('a client with a zero flow-control window: its calls are taken, cannot be answered, and are reset at write_timeout', async () => {
    const { budget, consumer, grpcSrv, cuts } = await setup({ write_timeout: 800 });
    const session = connect(grpcSrv.address, { initialWindowSize: 0 });
    const body = request('zero', 1);
    const calls = Array.from({ length: 100 }, () => {
      const c = open(session);
      c.stream.end(Buffer.concat([prefix(0, body.length), body]));
      return c;
    });
    await until(() => consumer.arrivals.length === 100);
    // Answered, not yet sent (the answer's DATA waits for a window): no budget held meanwhile.
    expect([budget.inflightRequests, budget.inflightBytes]).toEqual([0, 0]);
    const client = new grpc.Client(grpcSrv.address, grpc.credentials.createInsecure());
    cleanup.push(() => client.close());
    expect((await grpcCall(client, request('legit', 2))).code).toBe(grpc.status.OK);
    const outcomes = await Promise.all(calls.map((c) => c.outcome));
    // RST_STREAM CANCEL (0x8, RFC 9113 §7): the response headers came, the trailers never could.
    expect(new Set(outcomes)).toEqual(new Set([`rst:${http2.constants.NGHTTP2_CANCEL}`]));
    expect(await cuts('grpc', 'write_timeout')).toBe(100);
    expect(consumer.arrivals.filter((a) => a.services[0] === 'legit').length).toBe(1);
  });

  describe('keepalive (the Collector\'s keepalive.server_parameters and enforcement_policy)', () => {
    const keepalive = (idle: number, minTime: number) => ({
      server_parameters: { max_connection_idle: idle, max_connection_age: 0, max_connection_age_grace: 0 },
      enforcement_policy: { min_time: minTime, permit_without_stream: true },
    });
    const goaway = (session: http2.ClientHttp2Session) =>
      new Promise<{ code: number; data: string }>((resolve) => session.once('goaway', (code, _last, data) => resolve({ code, data: data?.toString() ?? '' })));
    const ping = (session: http2.ClientHttp2Session) => new Promise<void>((resolve) => session.ping(() => resolve()));

    it('pings closer than min_time: the third strike past two ends the connection with GOAWAY ENHANCE_YOUR_CALM too_many_pings', async () => {
      const { grpcSrv, cuts } = await setup({ keepalive: keepalive(0, 60_000) });
      const session = connect(grpcSrv.address);
      const away = goaway(session);
      // grpc-go's handlePing: the first ping sets the clock, pings 2, 3, 4 are strikes 1, 2, 3 > maxPingStrikes (2)
      await new Promise((resolve) => session.once('connect', resolve)); // pings before it are cancelled
      for (let i = 0; i < 4; i++) await ping(session);
      // 0xb ENHANCE_YOUR_CALM (RFC 9113 §7), debug data as grpc-go sends it
      expect(await away).toEqual({ code: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, data: 'too_many_pings' });
      expect(await cuts('grpc', 'too_many_pings')).toBe(1);
    });

    it('max_connection_age: GOAWAY NO_ERROR at the age (±10%), the connection cut after max_connection_age_grace', async () => {
      const { grpcSrv } = await setup({
        write_timeout: 0,
        keepalive: { server_parameters: { max_connection_idle: 0, max_connection_age: 400, max_connection_age_grace: 300 }, enforcement_policy: { min_time: 60_000, permit_without_stream: true } },
      });
      const session = connect(grpcSrv.address);
      const t0 = Date.now();
      const away = goaway(session);
      const call = open(session); // headers only: still open at the age, so the grace is what ends it
      const closed = new Promise<number>((resolve) => session.once('close', () => resolve(Date.now() - t0)));
      expect(await away).toEqual({ code: http2.constants.NGHTTP2_NO_ERROR, data: '' });
      const goawayMs = Date.now() - t0;
      expect(goawayMs).toBeGreaterThanOrEqual(350); // 400 ms - 10%, less a timer's rounding
      const closedMs = await closed;
      expect(closedMs - goawayMs).toBeGreaterThanOrEqual(250); // the 300 ms grace
      expect(await call.outcome).toBe(`rst:${http2.constants.NGHTTP2_CANCEL}`);
    });

    it('pings forgiven after each answer; a connection idle for max_connection_idle gets GOAWAY NO_ERROR', async () => {
      const { grpcSrv, cuts } = await setup({ keepalive: keepalive(400, 60_000) });
      const session = connect(grpcSrv.address);
      const away = goaway(session);
      const body = request('p', 1);
      for (let i = 0; i < 4; i++) {
        const c = open(session);
        c.stream.end(Buffer.concat([prefix(0, body.length), body]));
        expect(await c.outcome).toBe('0');
        await ping(session); // after an answer: no strike
      }
      const t0 = Date.now();
      expect(await away).toEqual({ code: http2.constants.NGHTTP2_NO_ERROR, data: '' });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300); // the idle clock started at the last call's end
      expect(await cuts('grpc', 'too_many_pings')).toBe(0);
    });
  });
});
