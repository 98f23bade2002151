// The OTLP/gRPC receiver's plaintext connections, served without node:http2 (issue 20): a
// connection that opens with the HTTP/2 preface (h2c with prior knowledge, what every OTLP gRPC
// exporter sends without TLS) is read by net/h2c.ts, and its calls run the same call logic
// (grpc-call.ts) as node:http2's streams do. node:http2 cost ~155 us of the sidecar's ~430 us per
// 512-span gRPC+gzip request (a session and stream objects per call, nghttp2's copies and its
// callbacks into JS); here a call is its frames, parsed in JS, and one write of a prepared answer.
// Anything that does not open with the preface goes to node:http2's own connection handler from
// its first byte, which answers as it always did (HTTP/1: a GOAWAY and a close). TLS stays on
// node:http2.
import type net from 'node:net';
import { encodeFields } from '../net/hpack.js';
import { H2Connection } from '../net/h2c.js';
import { keepShape } from '../net/shapes.js';
import { frameOf, FrameType, H2Error, headerFrames, PREFACE, type H2Request, type H2Settings, type H2Stream } from '../net/h2-frames.js';
import type { GrpcSessions, KeptConnection } from './grpc-sessions.js';
import type { CallEvents, CallHeaders, CallTransport, ResponseFields } from './grpc-call.js';
import { ACCEPT_ENCODING, GRPC_CONTENT_TYPE } from './grpc-wire.js';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

export interface H2cOptions {
  /** The receiver's node:http2 server, not yet listening: its connection handler is taken over. */
  server: net.Server;
  settings: H2Settings;
  /** The OK answer's message, framed (Length-Prefixed-Message). */
  okMessage: Buffer;
  startCall(call: CallTransport, headers: CallHeaders): CallEvents;
  sessions: GrpcSessions;
}

/** The OK answer for stream 0: HEADERS, DATA (the message), HEADERS (trailers, END_STREAM); and where the stream id sits in it. */
function okAnswer(message: Buffer): { bytes: Buffer; ids: number[]; data: number } {
  const head = headerFrames(0, encodeFields([[':status', '200'], ['content-type', GRPC_CONTENT_TYPE], ['grpc-accept-encoding', ACCEPT_ENCODING]]), false);
  const data = frameOf(FrameType.DATA, 0, 0, message);
  const trailers = headerFrames(0, encodeFields([['grpc-status', '0']]), true);
  return { bytes: Buffer.concat([head, data, trailers]), ids: [5, head.length + 5, head.length + data.length + 5], data: message.length };
}

type OkAnswer = ReturnType<typeof okAnswer>;

/** One call on an h2c stream, as the call logic answers through it: one object per call, its methods shared. */
class H2cCall implements CallTransport {
  readonly reusesReads = true;

  constructor(private readonly s: H2Stream, readonly connection: KeptConnection, private readonly ok: OkAnswer) {}

  get remoteAddress(): string | undefined {
    return this.s.remoteAddress;
  }

  get done(): boolean {
    return this.s.closed;
  }

  respondOk(): void {
    const { bytes, ids, data } = this.ok;
    const b = Buffer.allocUnsafe(bytes.length);
    bytes.copy(b);
    for (const at of ids) b.writeUInt32BE(this.s.id, at);
    this.s.send(b, data);
  }

  respond(status: number, fields: ResponseFields, body?: string): void {
    const s = this.s;
    const block = encodeFields([[':status', String(status)], ...fields]);
    // A gRPC status stops the client sending (RST_STREAM NO_ERROR, as on node:http2); an HTTP
    // error (405, 415) leaves it to end its request.
    const resetAfter = status === 200;
    if (body === undefined) {
      s.send(headerFrames(s.id, block, true), 0, resetAfter);
      return;
    }
    const data = Buffer.from(body);
    s.send(Buffer.concat([headerFrames(s.id, block, false), frameOf(FrameType.DATA, 1, s.id, data)]), data.length, resetAfter);
  }

  cancel(): void {
    this.s.reset(H2Error.CANCEL);
  }

  expect(bytes: number): void {
    this.s.grant(bytes);
  }
}
keepShape(new H2cCall(undefined as never, undefined as never, undefined as never)); // its shape kept (shapes.ts)

/**
 * Takes over `server`'s plaintext connections: h2c ones are served here, the rest handed to
 * node:http2. Call before the server listens and before anything else listens for 'connection'.
 * False when the server's connection handler is not the one this was written against (then
 * node:http2 serves everything).
 */
export function installH2c(o: H2cOptions): boolean {
  const { server, sessions } = o;
  const handlers = server.listeners('connection');
  if (handlers.length !== 1) return false;
  const nodeHandler = handlers[0] as (socket: net.Socket) => void;
  server.removeListener('connection', nodeHandler);
  const ok = okAnswer(o.okMessage);

  const serve = (socket: net.Socket, kept: KeptConnection): H2Connection => new H2Connection(socket, {
    settings: o.settings,
    onPing: () => sessions.ping(kept),
    onClose: () => sessions.removed(kept),
    onStream: (stream: H2Stream, request: H2Request) => o.startCall(new H2cCall(stream, kept, ok), headersOf(request)),
  });

  server.prependListener('connection', (socket: net.Socket) => {
    const h2: { conn?: H2Connection } = {};
    let got: Buffer | undefined;
    const kept: KeptConnection = {
      close: () => (h2.conn ? h2.conn.close() : socket.destroy()),
      destroy: () => (h2.conn ? h2.conn.destroy() : socket.destroy()),
      calm: () => h2.conn?.fail(H2Error.ENHANCE_YOUR_CALM, 'too_many_pings'),
      get destroyed() {
        return socket.destroyed || (h2.conn?.destroyed ?? false);
      },
      get remoteAddress() {
        return socket.remoteAddress;
      },
    };
    sessions.add(kept);
    const onClose = (): void => sessions.removed(kept);
    socket.once('close', onClose);
    socket.on('error', noop);
    const onData = (chunk: Buffer): void => {
      got = got === undefined ? chunk : Buffer.concat([got, chunk]);
      const n = Math.min(got.length, PREFACE.length);
      if (got.compare(PREFACE, 0, n, 0, n) !== 0) {
        // Not HTTP/2 with prior knowledge: node:http2 reads it from its first byte.
        socket.removeListener('data', onData);
        socket.removeListener('close', onClose);
        socket.removeListener('error', noop);
        sessions.removed(kept);
        socket.pause();
        socket.unshift(got);
        nodeHandler.call(server, socket);
        return;
      }
      if (got.length < PREFACE.length) return;
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      h2.conn = serve(socket, kept);
      h2.conn.start(got.subarray(PREFACE.length));
    };
    socket.on('data', onData);
  });
  return true;
}

function headersOf(r: H2Request): CallHeaders {
  const f = r.fields;
  return {
    method: r.method, path: r.path, authority: r.authority, contentType: f.get('content-type'), authorization: f.get('authorization'),
    encoding: f.get('grpc-encoding'), timeout: f.get('grpc-timeout'),
  };
}

function noop(): void {}
