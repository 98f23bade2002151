// HTTP/2 (RFC 9113) framing for the OTLP/gRPC receiver's own transport (h2c.ts): frame types,
// flags and error codes, the limits we announce, writing frames, and reading a request's header
// block (HPACK, hpack.ts) with the checks §8.2 and §8.3 make of it; a request stream's state.
import { HeaderListTooLargeError, type HpackDecoder } from './hpack.js';
import type { H2Connection } from './h2c.js';
import { keepShape } from './shapes.js';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const enum FrameType { DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PUSH_PROMISE = 5, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9 }
export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY_FLAG = 0x20;

/** RFC 9113 §7 error codes. */
export const enum H2Error {
  NO_ERROR = 0, PROTOCOL_ERROR = 1, INTERNAL_ERROR = 2, FLOW_CONTROL_ERROR = 3, SETTINGS_TIMEOUT = 4, STREAM_CLOSED = 5,
  FRAME_SIZE_ERROR = 6, REFUSED_STREAM = 7, CANCEL = 8, COMPRESSION_ERROR = 9, CONNECT_ERROR = 10, ENHANCE_YOUR_CALM = 11,
}

/** Our SETTINGS_MAX_FRAME_SIZE: the default, the smallest allowed. */
export const MAX_FRAME_SIZE = 16384;
export const DEFAULT_WINDOW = 65535;
export const MAX_WINDOW = 0x7fffffff;
/** Our connection receive window: refilled once half of it has come. */
export const CONNECTION_WINDOW = 16 << 20;
/** A header block (HEADERS + CONTINUATION) longer than this many times MAX_HEADER_LIST_SIZE: ENHANCE_YOUR_CALM. */
export const BLOCK_FACTOR = 2;
/** Closed stream ids remembered, with how they closed (Closed): frames on them are answered by that. */
export const REMEMBERED = 256;

export interface H2Settings {
  /** SETTINGS_MAX_CONCURRENT_STREAMS; 0 = not sent (unlimited). */
  maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE: what a stream may send before we grant more. */
  initialWindowSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE. */
  maxHeaderListSize: number;
}

/** A request's header section: the pseudo-header fields, and the others by name (a repeated one is undefined: not one value). */
export interface H2Request {
  method: string | undefined;
  scheme: string | undefined;
  path: string | undefined;
  authority: string | undefined;
  fields: Map<string, string | undefined>;
}

function frameHead(out: Buffer, at: number, length: number, type: number, flags: number, id: number): void {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(id, at + 5);
}

/** One frame of `payload`. */
export function frameOf(type: number, flags: number, id: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  frameHead(out, 0, payload.length, type, flags, id);
  out.set(payload, 9);
  return out;
}

/** A header block as HEADERS (+ CONTINUATION when longer than a frame). */
export function headerFrames(id: number, block: Buffer, endStream: boolean): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0, first = true; first || at < block.length; first = false) {
    const n = Math.min(MAX_FRAME_SIZE, block.length - at);
    const last = at + n >= block.length;
    parts.push(frameOf(first ? FrameType.HEADERS : FrameType.CONTINUATION, (last ? END_HEADERS : 0) | (first && endStream ? END_STREAM : 0), id, block.subarray(at, at + n)));
    at += n;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** Connection-specific fields a request must not carry (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const UPPERCASE = /[A-Z]/;

/** A decoded header block, and whether it is a malformed request (§8.2, §8.3) or over MAX_HEADER_LIST_SIZE. */
export interface RequestHead {
  request: H2Request;
  malformed: boolean;
  tooLarge: boolean;
}

/** Decodes a header block (throws HpackError when HPACK cannot: a connection error COMPRESSION_ERROR). */
export function readRequest(decoder: HpackDecoder, block: Buffer): RequestHead {
  const request: H2Request = { method: undefined, scheme: undefined, path: undefined, authority: undefined, fields: new Map() };
  let malformed = false;
  let regular = false;
  let tooLarge = false;
  try {
    decoder.decode(block, (name, value) => {
      if (name.charCodeAt(0) === 58 /* : */) {
        // Pseudo-header fields: the four of a request, once each, before the others (§8.3).
        if (regular) malformed = true;
        switch (name) {
          case ':method': if (request.method !== undefined) malformed = true; request.method = value; break;
          case ':scheme': if (request.scheme !== undefined) malformed = true; request.scheme = value; break;
          case ':path': if (request.path !== undefined) malformed = true; request.path = value; break;
          case ':authority': if (request.authority !== undefined) malformed = true; request.authority = value; break;
          default: malformed = true;
        }
        return;
      }
      regular = true;
      if (UPPERCASE.test(name) || CONNECTION_SPECIFIC.has(name) || (name === 'te' && value !== 'trailers')) malformed = true;
      request.fields.set(name, request.fields.has(name) ? undefined : value);
    });
  } catch (err) {
    if (!(err instanceof HeaderListTooLargeError)) throw err;
    tooLarge = true;
  }
  return { request, malformed, tooLarge };
}

/** What a stream's owner is told. */
export interface H2StreamEvents {
  /** A DATA payload: a view of the connection's read buffer, reused once this returns. */
  data(chunk: Buffer): void;
  end(): void;
  close(): void;
}

/** A request stream. */
export class H2Stream {
  /** Flow control: what we may still receive on it, and what the client lets us send. */
  recvWindow: number;
  sendWindow: number;
  /** DATA payload bytes (padding included) received. */
  received = 0;
  /** The most bytes the stream may receive in all, as far as windows are refilled (grant()). */
  allowed: number;
  remoteEnded = false;
  /** Our answer has ended the stream on our side; the client has not ended its own (half-closed local). */
  localEnded = false;
  /** Reset the stream NO_ERROR after the answer if the client is still sending (else it stays half-closed until the client ends). */
  resetAfter = true;
  closed = false;
  events: H2StreamEvents | undefined;
  /** An answer waiting for the client's windows, and the flow-controlled bytes in it. */
  held: Buffer | undefined;
  heldData = 0;
  /** content-length when the request gave one, and the DATA bytes (without padding) so far. */
  contentLength = -1;
  dataBytes = 0;

  constructor(readonly id: number, readonly connection: H2Connection, recvWindow: number, sendWindow: number) {
    this.recvWindow = recvWindow;
    this.allowed = recvWindow;
    this.sendWindow = sendWindow;
  }

  /** Nothing can be sent on it any more. */
  get done(): boolean {
    return this.closed;
  }

  /**
   * Sends `frames` (a whole answer ending the stream, `dataBytes` of it flow-controlled DATA), as
   * soon as the windows allow; if the client is still sending then, resets the stream NO_ERROR
   * after it (`resetAfter`), or reads on until the client ends its side.
   */
  send(frames: Buffer, dataBytes: number, resetAfter = true): void {
    if (this.closed || this.localEnded || this.held !== undefined) return;
    this.held = frames;
    this.heldData = dataBytes;
    this.resetAfter = resetAfter;
    this.connection.trySend(this);
  }

  /**
   * Lets the stream receive `total` bytes in all (its window refilled up to that, never lowered),
   * and a frame more: a window of 0 would hold back the client's END_STREAM (nghttp2 defers even
   * an empty DATA frame then), and a frame past the message is answered at once.
   */
  grant(total: number): void {
    if (total + MAX_FRAME_SIZE > this.allowed && !this.closed) this.connection.grant(this, total + MAX_FRAME_SIZE);
  }

  /** RST_STREAM with `code`. */
  reset(code: H2Error): void {
    if (!this.closed) this.connection.resetStream(this, code);
  }

  get remoteAddress(): string | undefined {
    return this.connection.socket.remoteAddress;
  }
}
// Its shape kept (shapes.ts); `connection` undefined: a kept stream holds no connection.
keepShape(new H2Stream(0, undefined as never, 0, 0));
