// The OTLP/gRPC receiver's own HTTP/2 transport on its plaintext port (src/net/h2c.ts,
// src/receivers/grpc-h2c.ts), driven by a raw socket client that writes frames by hand. Expected
// frame types, flags and error codes are RFC 9113's (section numbers in each test); gRPC statuses
// are grpc/grpc doc/PROTOCOL-HTTP2.md's and doc/statuscodes.md's.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGrpcReceiver } from '../../src/receivers/grpc.js';
import { EXPORT_METHOD_PATH } from '../../src/receivers/grpc-call.js';
import type { RunningServer } from '../../src/net/server.js';
import { encodeFields, HpackDecoder } from '../../src/net/hpack.js';
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { RecordingConsumer } from './support.js';

// RFC 9113 §6 frame types and §7 error codes.
const DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9;
const NO_ERROR = 0, PROTOCOL_ERROR = 1, FLOW_CONTROL_ERROR = 3, STREAM_CLOSED = 5, FRAME_SIZE_ERROR = 6, REFUSED_STREAM = 7, CANCEL = 8, COMPRESSION_ERROR = 9;
const END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8;
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(id, 5);
  payload.copy(b, 9);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function settings(pairs: [number, number][]): Buffer {
  const b = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([k, v], i) => {
    b.writeUInt16BE(k, 6 * i);
    b.writeUInt32BE(v, 6 * i + 2);
  });
  return b;
}

/** A raw HTTP/2 client: writes what it is given, parses what comes back. */
class Client {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private readonly decoder = new HpackDecoder();

  constructor(address: string, clientSettings: [number, number][] = []) {
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    this.socket = net.connect({ host, port });
    this.socket.on('error', () => {});
    this.socket.write(Buffer.concat([Buffer.from(PREFACE, 'latin1'), frame(SETTINGS, 0, 0, settings(clientSettings))]));
    this.socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 9) {
        const length = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + length) break;
        this.frames.push({ type: this.buf[3]!, flags: this.buf[4]!, id: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + length) });
        this.buf = this.buf.subarray(9 + length);
      }
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** The first frame (from `from` on) that `match` takes; undefined once the connection closed without one. */
  async next(match: (f: Frame) => boolean, from = 0, ms = 3000): Promise<Frame | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.slice(from).find(match);
      if (f || this.closed) return f;
      if (Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** GOAWAY's last stream id, error code and debug data (§6.8). */
  async goaway(): Promise<{ last: number; code: number; debug: string } | undefined> {
    const f = await this.next((x) => x.type === GOAWAY);
    return f && { last: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
  }

  async rst(id: number): Promise<number | undefined> {
    const f = await this.next((x) => x.type === RST_STREAM && x.id === id);
    return f?.payload.readUInt32BE(0);
  }

  /** The header fields of every HEADERS frame on `id` so far (decoded in order: the HPACK table is the connection's). */
  headersOf(id: number): Record<string, string>[] {
    const out: Record<string, string>[] = [];
    for (const f of this.frames) {
      if (f.type !== HEADERS) continue;
      const fields: Record<string, string> = {};
      this.decoder.decode(f.payload, (n, v) => { fields[n] = v; });
      if (f.id === id) out.push(fields);
    }
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

const REQUEST_HEADERS: [string, string][] = [
  [':method', 'POST'], [':scheme', 'http'], [':path', EXPORT_METHOD_PATH], [':authority', 'localhost'],
  ['content-type', 'application/grpc'], ['te', 'trailers'],
];

function lpm(message: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + message.length);
  b.writeUInt32BE(message.length, 1);
  b.set(message, 5);
  return b;
}

const MESSAGE = ExportTraceServiceRequest.encode({
  resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
    scopeSpans: [{ spans: [{ traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), name: 'op', kind: 2, startTimeUnixNano: 1, endTimeUnixNano: 2 }] }],
  }],
}).finish();

/** The last grpc-status sent on stream `id` (trailers, or trailers-only). */
function grpcStatus(c: Client, id: number): string | undefined {
  return c.headersOf(id).map((h) => h['grpc-status']).filter((s) => s !== undefined).pop();
}

describe('OTLP/gRPC receiver: HTTP/2 on the plaintext port (RFC 9113)', () => {
  const consumer = new RecordingConsumer();
  let server: RunningServer;
  let slow: RunningServer;
  const clients: Client[] = [];
  const client = (address = server.address, s: [number, number][] = []): Client => {
    const c = new Client(address, s);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 4 << 20, consumer, limits: { max_concurrent_streams: 2 } });
    slow = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 4 << 20, consumer, limits: { write_timeout: 300 } });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server.close();
    await slow.close();
  });

  it('sends its SETTINGS first (§3.4), with our limits, and acknowledges the client\'s (§6.5.3)', async () => {
    const c = client();
    const ack = await c.next((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
    expect(ack?.payload.length).toBe(0);
    const first = c.frames[0]!;
    expect(first.type).toBe(SETTINGS);
    const got = new Map<number, number>();
    for (let i = 0; i < first.payload.length; i += 6) got.set(first.payload.readUInt16BE(i), first.payload.readUInt32BE(i + 2));
    // §6.5.2: 0x3 MAX_CONCURRENT_STREAMS (the config's 2), 0x5 MAX_FRAME_SIZE (16384, the smallest allowed)
    expect(got.get(3)).toBe(2);
    expect(got.get(5)).toBe(16384);
  });

  it('answers PING with a PING ACK carrying the same 8 bytes (§6.7)', async () => {
    const c = client();
    c.send(frame(PING, 0, 0, Buffer.from('12345678')));
    const pong = await c.next((f) => f.type === PING && (f.flags & ACK) !== 0);
    expect(pong?.payload.toString()).toBe('12345678');
  });

  it('serves a call whose header block is split over HEADERS and CONTINUATION, and whose DATA is padded (§6.1, §6.10)', async () => {
    const c = client();
    const block = encodeFields(REQUEST_HEADERS);
    const body = lpm(MESSAGE);
    const padded = Buffer.concat([Buffer.from([3]), body, Buffer.alloc(3)]);
    consumer.reset();
    c.send(frame(HEADERS, 0, 1, block.subarray(0, 10)), frame(CONTINUATION, END_HEADERS, 1, block.subarray(10)), frame(DATA, END_STREAM | PADDED, 1, padded));
    const end = await c.next((f) => f.type === HEADERS && f.id === 1 && (f.flags & END_STREAM) !== 0);
    expect(end).toBeDefined();
    expect(c.headersOf(1)[0]![':status']).toBe('200');
    expect(grpcStatus(c, 1)).toBe('0');
    expect(consumer.arrivals.map((a) => a.names)).toEqual([['op']]);
  });

  it('serves a message split over many DATA frames (some padded) and socket writes, as the same message in one frame (§6.1)', async () => {
    // Eight spans named s0..s7: the consumer decodes them with protobufjs and records their names.
    const many = ExportTraceServiceRequest.encode({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [{ spans: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ traceId: new Uint8Array(16).fill(1 + i), spanId: new Uint8Array(8).fill(2 + i), name: `s${i}`, kind: 2, startTimeUnixNano: 1, endTimeUnixNano: 2 + i })) }],
      }],
    }).finish();
    const body = lpm(many);
    const expected = [[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `s${i}`)];
    // DATA frames of 1, 2, 3, ... bytes, every third padded with 2 bytes; the last one ends the stream.
    const data: Buffer[] = [];
    for (let at = 0, n = 1; at < body.length; at += n, n++) {
      const part = body.subarray(at, Math.min(body.length, at + n));
      const flags = at + n >= body.length ? END_STREAM : 0;
      data.push(n % 3 === 0 ? frame(DATA, flags | PADDED, 1, Buffer.concat([Buffer.from([2]), part, Buffer.alloc(2)])) : frame(DATA, flags, 1, part));
    }
    const wire = Buffer.concat([frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)), ...data]);
    for (const cuts of [[], [5], [9], [20, 21], [37, 100, 101, 230], Array.from({ length: Math.floor(wire.length / 7) }, (_, i) => 7 * (i + 1))]) {
      const c = client();
      await c.next((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
      consumer.reset();
      // Writes apart in time, so the receiver reads them apart (the last bytes of a frame come in a later read).
      for (const [i, from] of [0, ...cuts].entries()) {
        c.send(wire.subarray(from, cuts[i] ?? wire.length));
        await new Promise((r) => setTimeout(r, 2));
      }
      await c.next((f) => f.type === HEADERS && f.id === 1 && (f.flags & END_STREAM) !== 0);
      expect({ cuts, status: grpcStatus(c, 1), names: consumer.arrivals.map((a) => a.names) }).toEqual({ cuts, status: '0', names: expected });
      c.close();
    }
  });

  it('keeps no read buffer alive for a message that comes a little at a time between other frames', async () => {
    // A slow call: 100 bytes of its message per write, each write carrying 48 KiB of frames of an
    // unknown type besides (ignored, §4.1, and outside flow control, §6.9). Were a DATA payload
    // kept as a view of the read it came in, each ~49 KB read would stay alive with it: ~10 MB
    // over 200 writes. The message is copied out instead, into one buffer of its declared size.
    const c = client();
    await c.next((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
    const declared = 400_000;
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(declared, 1);
    c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)), frame(DATA, 0, 1, prefix));
    // One buffer written again and again: the client allocates nothing per write.
    const write = Buffer.concat([frame(DATA, 0, 1, Buffer.alloc(100, 0x0a)), frame(0xfe, 0, 0, Buffer.alloc(16384)), frame(0xfe, 0, 0, Buffer.alloc(16384)), frame(0xfe, 0, 0, Buffer.alloc(16384))]);
    await new Promise((r) => setTimeout(r, 20));
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 200; i++) {
      c.socket.write(write);
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 50));
    const grown = process.memoryUsage().arrayBuffers - before;
    // Still in progress (20,000 of 400,000 bytes): no answer on stream 1 yet.
    expect(c.headersOf(1)).toEqual([]);
    expect(c.closed).toBe(false);
    expect(grown).toBeLessThan(2 * 1024 * 1024);
    c.close();
  });

  it('connection errors: GOAWAY with the RFC\'s code and the connection closed', async () => {
    const cases: [string, (c: Client) => void, number][] = [
      // §5.1: DATA on an idle stream
      ['DATA on an idle stream', (c) => c.send(frame(DATA, 0, 1, Buffer.from('x'))), PROTOCOL_ERROR],
      // §4.2: a frame over SETTINGS_MAX_FRAME_SIZE
      ['a frame over MAX_FRAME_SIZE', (c) => c.send(frame(DATA, 0, 1, Buffer.alloc(16385))), FRAME_SIZE_ERROR],
      // §6.10: a header block not continued by CONTINUATION
      ['a header block not continued', (c) => c.send(frame(HEADERS, 0, 1, encodeFields(REQUEST_HEADERS).subarray(0, 5)), frame(PING, 0, 0, Buffer.alloc(8))), PROTOCOL_ERROR],
      // §5.1.1: a client's stream ids are odd
      ['an even stream id', (c) => c.send(frame(HEADERS, END_HEADERS, 2, encodeFields(REQUEST_HEADERS))), PROTOCOL_ERROR],
      // §5.1.1: and increasing
      ['a stream id below the last', (c) => c.send(frame(HEADERS, END_HEADERS, 5, encodeFields(REQUEST_HEADERS)), frame(HEADERS, END_HEADERS, 3, encodeFields(REQUEST_HEADERS))), PROTOCOL_ERROR],
      // §6.9: a WINDOW_UPDATE of 0 on the connection
      ['WINDOW_UPDATE of 0', (c) => c.send(frame(WINDOW_UPDATE, 0, 0, u32(0))), PROTOCOL_ERROR],
      // §6.9.1: a connection window over 2^31-1
      ['a window over 2^31-1', (c) => c.send(frame(WINDOW_UPDATE, 0, 0, u32(0x7fffffff))), FLOW_CONTROL_ERROR],
      // §6.5: SETTINGS of a length not a multiple of 6
      ['SETTINGS of 5 bytes', (c) => c.send(frame(SETTINGS, 0, 0, Buffer.alloc(5))), FRAME_SIZE_ERROR],
      // §6.5.2: SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1
      ['INITIAL_WINDOW_SIZE over 2^31-1', (c) => c.send(frame(SETTINGS, 0, 0, settings([[4, 0x80000000]]))), FLOW_CONTROL_ERROR],
      // §6.5.2: SETTINGS_ENABLE_PUSH other than 0 or 1
      ['ENABLE_PUSH 2', (c) => c.send(frame(SETTINGS, 0, 0, settings([[2, 2]]))), PROTOCOL_ERROR],
      // §6.7: PING of a length other than 8
      ['PING of 7 bytes', (c) => c.send(frame(PING, 0, 0, Buffer.alloc(7))), FRAME_SIZE_ERROR],
      // §6.1: padding as long as the payload
      ['DATA padding too long', (c) => c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)), frame(DATA, PADDED, 1, Buffer.from([5, 0, 0]))), PROTOCOL_ERROR],
      // §6.6: PUSH_PROMISE from a client
      ['PUSH_PROMISE from a client', (c) => c.send(frame(5, END_HEADERS, 1, Buffer.alloc(4))), PROTOCOL_ERROR],
      // §5.1 closed: DATA after END_STREAM both ways (the call was answered) is a connection error STREAM_CLOSED
      ['DATA on a stream closed by END_STREAM', (c) => c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, encodeFields(REQUEST_HEADERS)), frame(DATA, 0, 1, Buffer.from('x'))), STREAM_CLOSED],
      // RFC 7541 §6.1 via §4.3: an indexed field with index 0 is a decoding error: COMPRESSION_ERROR
      ['a header block HPACK cannot decode', (c) => c.send(frame(HEADERS, END_HEADERS, 1, Buffer.from([0x80]))), COMPRESSION_ERROR],
    ];
    for (const [name, act, code] of cases) {
      const c = client();
      await c.next((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
      act(c);
      const away = await c.goaway();
      expect({ name, code: away?.code }).toEqual({ name, code });
      await c.next(() => false, 0, 2000);
      expect({ name, closed: c.closed }).toEqual({ name, closed: true });
    }
  });

  it('stream errors: RST_STREAM with the RFC\'s code, the connection still serving', async () => {
    const c = client();
    const open = (id: number, flags = END_HEADERS, fields = REQUEST_HEADERS, extra = Buffer.alloc(0)): void =>
      c.send(frame(HEADERS, flags, id, Buffer.concat([encodeFields(fields), extra])));
    // §6.9: WINDOW_UPDATE of 0 on a stream
    open(1);
    c.send(frame(WINDOW_UPDATE, 0, 1, u32(0)));
    expect(await c.rst(1)).toBe(PROTOCOL_ERROR);
    // §8.2.1: an uppercase field name makes the request malformed
    // (a literal without indexing, new name, RFC 7541 §6.2.2: encodeFields lowercases names)
    open(3, END_HEADERS, REQUEST_HEADERS, Buffer.from('\x00\x07X-Upper\x01a', 'latin1'));
    expect(await c.rst(3)).toBe(PROTOCOL_ERROR);
    // §8.3.1: a request without :path is malformed
    open(5, END_HEADERS, REQUEST_HEADERS.filter(([n]) => n !== ':path'));
    expect(await c.rst(5)).toBe(PROTOCOL_ERROR);
    // §8.2.2: connection-specific fields are malformed
    open(7, END_HEADERS, [...REQUEST_HEADERS, ['connection', 'keep-alive']]);
    expect(await c.rst(7)).toBe(PROTOCOL_ERROR);
    // §5.3.1: a stream that depends on itself (PRIORITY frame)
    open(9);
    c.send(frame(PRIORITY, 0, 9, Buffer.from([0, 0, 0, 9, 16])));
    expect(await c.rst(9)).toBe(PROTOCOL_ERROR);
    // §5.1 closed: DATA after the client's own RST_STREAM is a stream error STREAM_CLOSED
    open(11);
    c.send(frame(RST_STREAM, 0, 11, u32(CANCEL)), frame(DATA, 0, 11, Buffer.from('x')));
    expect(await c.rst(11)).toBe(STREAM_CLOSED);
    // §8.1.1: content-length that the DATA does not match
    open(13, END_HEADERS, [...REQUEST_HEADERS, ['content-length', '10']]);
    c.send(frame(DATA, END_STREAM, 13, Buffer.from('abc')));
    expect(await c.rst(13)).toBe(PROTOCOL_ERROR);
    // Still serving: a call on the same connection.
    open(15);
    c.send(frame(DATA, END_STREAM, 15, lpm(MESSAGE)));
    await c.next((f) => f.type === HEADERS && f.id === 15 && (f.flags & END_STREAM) !== 0);
    expect(grpcStatus(c, 15)).toBe('0');
    expect(c.closed).toBe(false);
  });

  it('remembers how its last 256 closed streams closed (REMEMBERED, h2-frames.ts): DATA on an ended one is a connection error, on a forgotten one a stream error (§5.1)', async () => {
    // Stream 1 answered and ended both ways, then `resets` streams the client resets (RST_STREAM:
    // closed at once), then DATA on stream 1.
    const run = async (resets: number): Promise<{ goaway?: number; rst?: number }> => {
      const c = client();
      c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)), frame(DATA, END_STREAM, 1, lpm(MESSAGE)));
      await c.next((f) => f.type === HEADERS && f.id === 1 && (f.flags & END_STREAM) !== 0);
      const frames: Buffer[] = [];
      for (let i = 0, id = 3; i < resets; i++, id += 2) frames.push(frame(HEADERS, END_HEADERS, id, encodeFields(REQUEST_HEADERS)), frame(RST_STREAM, 0, id, u32(CANCEL)));
      c.send(...frames, frame(DATA, 0, 1, Buffer.from('x')), frame(PING, 0, 0, Buffer.from('abcdefgh')));
      await c.next((f) => f.type === GOAWAY || (f.type === PING && (f.flags & ACK) !== 0));
      const goaway = c.frames.find((f) => f.type === GOAWAY);
      const rst = c.frames.find((f) => f.type === RST_STREAM && f.id === 1);
      return { goaway: goaway?.payload.readUInt32BE(4), rst: rst?.payload.readUInt32BE(0) };
    };
    // 255 closes later stream 1 is still remembered as ended: connection error STREAM_CLOSED.
    expect(await run(255)).toEqual({ goaway: STREAM_CLOSED, rst: undefined });
    // 256 closes later it is forgotten: a closed stream of unknown history, stream error STREAM_CLOSED.
    expect(await run(256)).toEqual({ goaway: undefined, rst: STREAM_CLOSED });
  });

  it('a gRPC status before the request ended: trailers-only, then RST_STREAM NO_ERROR; DATA still on its way is ignored (§8.1, §5.1)', async () => {
    const c = client();
    // A length prefix over the 4 MiB limit: RESOURCE_EXHAUSTED (8) at once (doc/statuscodes.md).
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(8 << 20, 1);
    c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)), frame(DATA, 0, 1, prefix));
    expect(await c.rst(1)).toBe(NO_ERROR);
    expect(grpcStatus(c, 1)).toBe('8');
    const before = c.frames.length;
    c.send(frame(DATA, 0, 1, Buffer.alloc(100)), frame(PING, 0, 0, Buffer.from('abcdefgh')));
    await c.next((f) => f.type === PING && (f.flags & ACK) !== 0, before);
    expect(c.frames.slice(before).map((f) => f.type)).toEqual([PING]);
  });

  it('an HTTP error (415) ends our side only: no RST_STREAM, the client ends its own (§8.1)', async () => {
    const c = client();
    const fields = REQUEST_HEADERS.map(([n, v]): [string, string] => [n, n === 'content-type' ? 'text/plain' : v]);
    c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(fields)));
    const body = await c.next((f) => f.type === DATA && f.id === 1 && (f.flags & END_STREAM) !== 0);
    expect(c.headersOf(1)[0]![':status']).toBe('415');
    expect(body?.payload.toString()).toBe('gRPC needs content-type application/grpc');
    const before = c.frames.length;
    c.send(frame(DATA, END_STREAM, 1, Buffer.from('x')), frame(PING, 0, 0, Buffer.from('abcdefgh')));
    await c.next((f) => f.type === PING && (f.flags & ACK) !== 0, before);
    expect(c.frames.filter((f) => f.type === RST_STREAM || f.type === GOAWAY)).toEqual([]);
  });

  it('refuses streams over its MAX_CONCURRENT_STREAMS with RST_STREAM REFUSED_STREAM (§5.1.2)', async () => {
    const c = client();
    await c.next((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
    for (const id of [1, 3, 5]) c.send(frame(HEADERS, END_HEADERS, id, encodeFields(REQUEST_HEADERS)));
    expect(await c.rst(5)).toBe(REFUSED_STREAM);
    // The two open ones still complete.
    c.send(frame(DATA, END_STREAM, 1, lpm(MESSAGE)), frame(DATA, END_STREAM, 3, lpm(MESSAGE)));
    await c.next((f) => f.type === HEADERS && f.id === 3 && (f.flags & END_STREAM) !== 0);
    expect([grpcStatus(c, 1), grpcStatus(c, 3)]).toEqual(['0', '0']);
  });

  it('a client RST_STREAM ends its call without an answer; the connection serves on', async () => {
    const c = client();
    c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)), frame(DATA, 0, 1, lpm(MESSAGE).subarray(0, 8)), frame(RST_STREAM, 0, 1, u32(CANCEL)));
    c.send(frame(HEADERS, END_HEADERS, 3, encodeFields(REQUEST_HEADERS)), frame(DATA, END_STREAM, 3, lpm(MESSAGE)));
    await c.next((f) => f.type === HEADERS && f.id === 3 && (f.flags & END_STREAM) !== 0);
    expect(c.frames.filter((f) => f.id === 1)).toEqual([]);
    expect(grpcStatus(c, 3)).toBe('0');
  });

  it('holds its answer\'s DATA while the client\'s window is 0, sends it on WINDOW_UPDATE (§6.9.2)', async () => {
    // SETTINGS_INITIAL_WINDOW_SIZE 0: no stream DATA may come before a WINDOW_UPDATE.
    const c = client(server.address, [[4, 0]]);
    c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)), frame(DATA, END_STREAM, 1, lpm(MESSAGE)));
    await c.next(() => false, 0, 300);
    expect(c.frames.filter((f) => f.type === DATA)).toEqual([]);
    c.send(frame(WINDOW_UPDATE, 0, 1, u32(5)));
    const data = await c.next((f) => f.type === DATA && f.id === 1);
    // The empty ExportTraceServiceResponse, framed: flag 0, length 0 (PROTOCOL-HTTP2.md).
    expect(data?.payload).toEqual(Buffer.alloc(5));
    await c.next((f) => f.type === HEADERS && f.id === 1 && (f.flags & END_STREAM) !== 0);
    expect(grpcStatus(c, 1)).toBe('0');
  });

  it('splits its answer\'s DATA to the client\'s window: one octet, then the rest on WINDOW_UPDATE (§6.9.1)', async () => {
    const c = client(server.address, [[4, 1]]);
    c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)), frame(DATA, END_STREAM, 1, lpm(MESSAGE)));
    // The empty ExportTraceServiceResponse, framed, is 5 octets 0 (PROTOCOL-HTTP2.md): 1 fits.
    const first = await c.next((f) => f.type === DATA && f.id === 1);
    expect([first?.payload.length, first?.flags]).toEqual([1, 0]);
    await c.next(() => false, 0, 200);
    expect(c.frames.filter((f) => f.id === 1).map((f) => f.type)).toEqual([HEADERS, DATA]);
    c.send(frame(WINDOW_UPDATE, 0, 1, u32(4)));
    await c.next((f) => f.type === HEADERS && f.id === 1 && (f.flags & END_STREAM) !== 0);
    const data = c.frames.filter((f) => f.type === DATA && f.id === 1);
    expect(data.map((f) => f.payload.length)).toEqual([1, 4]);
    expect(Buffer.concat(data.map((f) => f.payload))).toEqual(Buffer.alloc(5));
    expect(grpcStatus(c, 1)).toBe('0');
  });

  it('answers a GET with 405, Allow: POST and an explanation; a HEAD without one (RFC 9110 §15.5.6, §9.3.2)', async () => {
    const c = client();
    const as = (method: string): [string, string][] => [[':method', method], [':scheme', 'http'], [':path', '/'], [':authority', 'localhost']];
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, encodeFields(as('GET'))), frame(HEADERS, END_HEADERS | END_STREAM, 3, encodeFields(as('HEAD'))));
    const body = await c.next((f) => f.type === DATA && f.id === 1 && (f.flags & END_STREAM) !== 0);
    await c.next((f) => f.type === HEADERS && f.id === 3);
    expect(c.headersOf(1)[0]).toEqual({ ':status': '405', allow: 'POST', 'content-type': 'text/plain' });
    expect(body?.payload.toString()).toBe(`gRPC calls are POST ${EXPORT_METHOD_PATH}`);
    const head = c.frames.filter((f) => f.id === 3);
    expect(head.map((f) => [f.type, f.flags & END_STREAM])).toEqual([[HEADERS, END_STREAM]]);
    expect(c.headersOf(3)[0]).toEqual({ ':status': '405', allow: 'POST' });
  });

  it('resets a call whose answer the client\'s window holds past write_timeout with RST_STREAM CANCEL', async () => {
    const c = client(slow.address, [[4, 0]]);
    c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)), frame(DATA, END_STREAM, 1, lpm(MESSAGE)));
    expect(await c.rst(1)).toBe(CANCEL);
  });

  it('lets a message larger than its initial window come once its prefix is in (WINDOW_UPDATE on the stream)', async () => {
    const c = client();
    const big = ExportTraceServiceRequest.encode({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), name: 'x'.repeat(1_200_000), kind: 2, startTimeUnixNano: 1, endTimeUnixNano: 2 }] }] }],
    }).finish();
    const body = lpm(big);
    consumer.reset();
    c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)));
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; at += 16384) chunks.push(frame(DATA, at + 16384 >= body.length ? END_STREAM : 0, 1, body.subarray(at, at + 16384)));
    // The initial window (1 MiB) first; the rest once the stream's window has grown.
    const first = Math.floor((1 << 20) / 16384);
    c.send(...chunks.slice(0, first));
    const update = await c.next((f) => f.type === WINDOW_UPDATE && f.id === 1);
    expect(update).toBeDefined();
    // It grants the message (prefix + length) less the initial window, and one frame (16384) more
    // so that the window is not 0 when the client's END_STREAM is due.
    expect(update!.payload.readUInt32BE(0)).toBe(body.length - (1 << 20) + 16384);
    c.send(...chunks.slice(first));
    await c.next((f) => f.type === HEADERS && f.id === 1 && (f.flags & END_STREAM) !== 0);
    expect(grpcStatus(c, 1)).toBe('0');
    expect(consumer.arrivals.length).toBe(1);
  });

  it('close(): GOAWAY NO_ERROR naming the last stream, the call in flight finishes (§6.8)', async () => {
    const s = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20, consumer });
    const c = client(s.address);
    c.send(frame(HEADERS, END_HEADERS, 1, encodeFields(REQUEST_HEADERS)));
    await c.next((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
    const closing = s.close();
    expect(await c.goaway()).toEqual({ last: 1, code: NO_ERROR, debug: '' });
    c.send(frame(DATA, END_STREAM, 1, lpm(MESSAGE)));
    await c.next((f) => f.type === HEADERS && f.id === 1 && (f.flags & END_STREAM) !== 0);
    expect(grpcStatus(c, 1)).toBe('0');
    await closing;
    await c.next(() => false, 0, 1000);
    expect(c.closed).toBe(true);
  });

  it('hands a connection that is not HTTP/2 to node:http2 from its first byte (HTTP/1 gets its GOAWAY and a close)', async () => {
    const [host, port] = server.address.split(':');
    const got = await new Promise<Buffer>((resolve) => {
      const s = net.connect({ host, port: Number(port) }, () => s.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'));
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('error', () => {});
      s.on('close', () => resolve(Buffer.concat(parts)));
    });
    // nghttp2 answers a bad preface with its SETTINGS and GOAWAY PROTOCOL_ERROR (RFC 9113 §3.4).
    const frames: number[] = [];
    for (let at = 0; at + 9 <= got.length; at += 9 + got.readUIntBE(at, 3)) frames.push(got[at + 3]!);
    expect(frames).toContain(GOAWAY);
  });
});
