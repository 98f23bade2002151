// A server-side HTTP/2 connection over a plain socket (h2c with prior knowledge, RFC 9113 §3.3),
// for the OTLP/gRPC receiver's plaintext port (receivers/grpc-h2c.ts): small unary requests in,
// small answers out. The socket reads into buffers the receiver owns (ConnectionReads,
// reads.ts: no 64 KiB chunk of Node's per read, kept alive by a message in progress, issue 20);
// frames are taken off them as they complete, a DATA payload reaches its stream as a view that is
// valid during the call only (the gRPC call copies its message out). It decodes header blocks with
// HPACK (hpack.ts), and answers with prepared frames, written once per event-loop turn (writes.ts).
//
// What it does of RFC 9113: the preface, SETTINGS and their ACK (ours: MAX_CONCURRENT_STREAMS,
// INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE 16384, MAX_HEADER_LIST_SIZE); HEADERS + CONTINUATION (a
// header block must be continued on its stream alone); DATA with padding; flow control both ways
// (our windows refilled as bytes come, a stream's no further than the bytes it may send, grant();
// our answers' DATA leaves as the client's windows open, split to fit); PING ACK; RST_STREAM;
// PRIORITY ignored (checked); GOAWAY on connection errors with their code, and on close()
// (graceful: the last stream id, calls in flight finish); the stream states (§5.1: client stream
// ids odd and increasing; frames on idle streams PROTOCOL_ERROR, on closed ones STREAM_CLOSED;
// frames over MAX_FRAME_SIZE FRAME_SIZE_ERROR) and malformed requests (§8.1.1, §8.2, §8.3: stream
// error PROTOCOL_ERROR).
import type net from 'node:net';
import { encodeFields, HpackDecoder } from './hpack.js';
import { ConnectionReads } from './reads.js';
import { ConnectionWrites } from './writes.js';
import {
  ACK, BLOCK_FACTOR, CONNECTION_WINDOW, DEFAULT_WINDOW, END_HEADERS, END_STREAM, FrameType, frameOf, H2Error, headerFrames, MAX_FRAME_SIZE,
  MAX_WINDOW, PADDED, PRIORITY_FLAG, readRequest, REMEMBERED, u32, H2Stream, type H2Request, type H2Settings,
  type H2StreamEvents, type RequestHead,
} from './h2-frames.js';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

export interface H2ConnectionOptions {
  settings: H2Settings;
  /** A new request: returns its events. `stream` answers it. */
  onStream(stream: H2Stream, request: H2Request): H2StreamEvents;
  /** A PING (not an ACK) came (after it was answered). */
  onPing(): void;
  /** The connection closed (socket gone). */
  onClose(): void;
}

const enum State { OPEN, GOING_AWAY, CLOSED }

/**
 * How a stream closed, for the frames that come on it after (RFC 9113 §5.1 "closed"): after
 * END_STREAM both ways, DATA or HEADERS is a connection error STREAM_CLOSED; after the client's
 * RST_STREAM a stream error STREAM_CLOSED; after ours they are ignored (they may have been on their way).
 */
const enum Closed { ENDED, RESET_BY_US, RESET_BY_CLIENT }

export class H2Connection {
  private readonly decoder: HpackDecoder;
  private readonly streams = new Map<number, H2Stream>();
  /**
   * The last REMEMBERED closed ids and how each closed (frames on those we reset are ignored, RFC
   * 9113 §5.4.2), in a ring: written per stream without a Map entry made and dropped (0: empty).
   */
  private readonly recentIds = new Int32Array(REMEMBERED);
  private readonly recentHow = new Uint8Array(REMEMBERED);
  private recentNext = 0;
  private lastId = 0;
  private state = State.OPEN;
  /** GOAWAY sent: streams above this id are not served. */
  private goawayId = MAX_WINDOW;
  private gotSettings = false;
  /** The header block being read (HEADERS without END_HEADERS): its stream, flags, fragments. */
  private blockId = 0;
  private blockFlags = 0;
  private blockParts: Buffer[] = [];
  private blockBytes = 0;
  private recvWindow = CONNECTION_WINDOW;
  private consumed = 0;
  private sendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private readonly writes: ConnectionWrites;
  private readonly blocked = new Set<H2Stream>();
  private reads: ConnectionReads | undefined;

  /** Call start() to read. */
  constructor(readonly socket: net.Socket, private readonly o: H2ConnectionOptions) {
    this.decoder = new HpackDecoder(4096, o.settings.maxHeaderListSize);
    this.writes = new ConnectionWrites(socket);
    const s = o.settings;
    const settings: number[] = [];
    if (s.maxConcurrentStreams > 0) settings.push(3, s.maxConcurrentStreams);
    settings.push(4, s.initialWindowSize, 5, MAX_FRAME_SIZE, 6, s.maxHeaderListSize);
    const payload = Buffer.allocUnsafe(settings.length * 3);
    for (let i = 0; i < settings.length; i += 2) {
      payload.writeUInt16BE(settings[i]!, i * 3);
      payload.writeUInt32BE(settings[i + 1]!, i * 3 + 2);
    }
    this.write(frameOf(FrameType.SETTINGS, 0, 0, payload));
    this.write(frameOf(FrameType.WINDOW_UPDATE, 0, 0, u32(CONNECTION_WINDOW - DEFAULT_WINDOW)));
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('end', () => this.shutdown());
    socket.once('close', () => {
      this.reads?.release();
      this.state = State.CLOSED;
      this.closeStreams();
      this.o.onClose();
    });
    this.writes.now();
  }

  /** Reads the connection: `initial` first (what the receiver read before handing the socket over, after the preface). */
  start(initial: Uint8Array): void {
    if (this.reads === undefined && !this.socket.destroyed) this.reads = new ConnectionReads(this.socket, (b, start, end) => this.take(b, start, end), initial);
  }

  get destroyed(): boolean {
    return this.state === State.CLOSED || this.socket.destroyed;
  }

  /** Streams open now. */
  get size(): number {
    return this.streams.size;
  }

  /** Graceful close: GOAWAY NO_ERROR with the last stream id; the socket ends once the streams in flight are done. */
  close(): void {
    if (this.state !== State.OPEN) return;
    this.goaway(H2Error.NO_ERROR);
    this.state = State.GOING_AWAY;
    if (this.streams.size === 0) this.end();
    else this.writes.now();
  }

  /** GOAWAY `code` (with `debug`), then the connection ends; its streams are closed. */
  fail(code: H2Error, debug = ''): void {
    if (this.state === State.CLOSED) return;
    this.goaway(code, debug);
    this.state = State.CLOSED;
    this.closeStreams();
    this.end();
  }

  /** Cuts the connection now. */
  destroy(): void {
    this.state = State.CLOSED;
    this.closeStreams();
    this.socket.destroy();
  }

  /**
   * Takes the frames complete in b[start, end) (a read buffer, reused after: nothing here keeps a
   * view of it) and returns where the first incomplete one starts.
   */
  private take(b: Buffer, start: number, end: number): number {
    let at = start;
    try {
      while (end - at >= 9 && this.state !== State.CLOSED) {
        // A frame longer than our MAX_FRAME_SIZE is a connection error FRAME_SIZE_ERROR (RFC 9113 §4.2), known from its first 3 bytes.
        const length = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
        if (length > MAX_FRAME_SIZE) {
          this.fail(H2Error.FRAME_SIZE_ERROR, `frame of ${length} bytes is over SETTINGS_MAX_FRAME_SIZE ${MAX_FRAME_SIZE}`);
          break;
        }
        if (end - at < 9 + length) break;
        this.frame(b, at, length);
        at += 9 + length;
      }
    } finally {
      this.writes.soon();
    }
    return this.state === State.CLOSED ? end : at;
  }

  private frame(b: Buffer, at: number, length: number): void {
    if (this.state === State.CLOSED) return;
    const type = b[at + 3]!;
    const flags = b[at + 4]!;
    const id = b.readUInt32BE(at + 5) & MAX_WINDOW;
    const p = at + 9;
    if (!this.gotSettings && (type !== FrameType.SETTINGS || flags & ACK)) {
      this.fail(H2Error.PROTOCOL_ERROR, 'the client preface must go on with a SETTINGS frame');
      return;
    }
    if (this.blockId !== 0 && (type !== FrameType.CONTINUATION || id !== this.blockId)) {
      this.fail(H2Error.PROTOCOL_ERROR, 'a header block must be continued by CONTINUATION frames on its stream');
      return;
    }
    switch (type) {
      case FrameType.DATA:
        this.data(b, p, length, flags, id);
        break;
      case FrameType.HEADERS:
        this.headers(b, p, length, flags, id);
        break;
      case FrameType.PRIORITY:
        if (id === 0) this.fail(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        else if (length !== 5) this.streamError(id, H2Error.FRAME_SIZE_ERROR);
        else if ((b.readUInt32BE(p) & MAX_WINDOW) === id) this.streamError(id, H2Error.PROTOCOL_ERROR);
        break;
      case FrameType.RST_STREAM:
        if (id === 0) this.fail(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        else if (length !== 4) this.fail(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM of a length other than 4');
        else if (this.idle(id)) this.fail(H2Error.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
        else {
          const s = this.streams.get(id);
          if (s) this.closeStream(s, Closed.RESET_BY_CLIENT);
        }
        break;
      case FrameType.SETTINGS:
        this.settings(b, p, length, flags, id);
        break;
      case FrameType.PUSH_PROMISE:
        this.fail(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
        break;
      case FrameType.PING:
        if (id !== 0) this.fail(H2Error.PROTOCOL_ERROR, 'PING on a stream');
        else if (length !== 8) this.fail(H2Error.FRAME_SIZE_ERROR, 'PING of a length other than 8');
        else if (!(flags & ACK)) {
          this.write(frameOf(FrameType.PING, ACK, 0, b.subarray(p, p + 8)));
          this.o.onPing();
        }
        break;
      case FrameType.GOAWAY:
        if (id !== 0) this.fail(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream');
        else if (length < 8) this.fail(H2Error.FRAME_SIZE_ERROR, 'GOAWAY shorter than 8 bytes');
        else {
          // The client is leaving: the calls it sent finish, then the connection ends.
          if (this.state === State.OPEN) this.state = State.GOING_AWAY;
          if (this.streams.size === 0) this.end();
        }
        break;
      case FrameType.WINDOW_UPDATE:
        this.windowUpdate(b, p, length, id);
        break;
      case FrameType.CONTINUATION:
        if (this.blockId === 0) this.fail(H2Error.PROTOCOL_ERROR, 'CONTINUATION without a header block to continue');
        else this.continuation(b, p, length, flags);
        break;
      default:
        // Unknown frame types are ignored (RFC 9113 §4.1).
    }
  }

  /** True for a stream id that no frame has opened (a client's ids are odd and increasing). */
  private idle(id: number): boolean {
    return id > this.lastId || (id & 1) === 0;
  }

  private settings(b: Buffer, p: number, length: number, flags: number, id: number): void {
    if (id !== 0) return this.fail(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & ACK) {
      if (length !== 0) this.fail(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (length % 6 !== 0) return this.fail(H2Error.FRAME_SIZE_ERROR, 'SETTINGS of a length not a multiple of 6');
    for (let q = p; q < p + length; q += 6) {
      const key = b.readUInt16BE(q);
      const value = b.readUInt32BE(q + 2);
      if (key === 2 && value > 1) return this.fail(H2Error.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH other than 0 or 1');
      if (key === 4) {
        if (value > MAX_WINDOW) return this.fail(H2Error.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) return this.fail(H2Error.FLOW_CONTROL_ERROR, 'a stream window over 2^31-1');
        }
      }
      if (key === 5 && (value < MAX_FRAME_SIZE || value > 0xffffff)) return this.fail(H2Error.PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
      // HEADER_TABLE_SIZE: our encoder never indexes; MAX_HEADER_LIST_SIZE, MAX_CONCURRENT_STREAMS: our answers are small and we push nothing.
    }
    this.gotSettings = true;
    this.write(frameOf(FrameType.SETTINGS, ACK, 0));
    for (const s of this.streams.values()) if (s.held) this.blocked.add(s);
    this.unblock();
  }

  private windowUpdate(b: Buffer, p: number, length: number, id: number): void {
    if (length !== 4) return this.fail(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of a length other than 4');
    const n = b.readUInt32BE(p) & MAX_WINDOW;
    if (id === 0) {
      if (n === 0) return this.fail(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
      this.sendWindow += n;
      if (this.sendWindow > MAX_WINDOW) return this.fail(H2Error.FLOW_CONTROL_ERROR, 'connection window over 2^31-1');
      this.unblock();
      return;
    }
    if (this.idle(id)) return this.fail(H2Error.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
    const s = this.streams.get(id);
    if (!s) return;
    if (n === 0) return this.streamError(id, H2Error.PROTOCOL_ERROR);
    s.sendWindow += n;
    if (s.sendWindow > MAX_WINDOW) return this.streamError(id, H2Error.FLOW_CONTROL_ERROR);
    if (s.held) {
      this.blocked.add(s);
      this.unblock();
    }
  }

  private data(b: Buffer, p: number, length: number, flags: number, id: number): void {
    if (id === 0) return this.fail(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    if (this.idle(id)) return this.fail(H2Error.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
    // Every DATA frame counts against the connection's window, whatever its stream (§6.9).
    if (length > this.recvWindow) return this.fail(H2Error.FLOW_CONTROL_ERROR, 'DATA past the connection window');
    this.recvWindow -= length;
    this.consumed += length;
    if (this.consumed >= CONNECTION_WINDOW / 2) {
      this.write(frameOf(FrameType.WINDOW_UPDATE, 0, 0, u32(this.consumed)));
      this.recvWindow += this.consumed;
      this.consumed = 0;
    }
    const end = this.unpadded(b, p, length, flags, 'DATA');
    if (end < 0) return;
    const start = flags & PADDED ? p + 1 : p;
    const s = this.streams.get(id);
    if (!s || s.remoteEnded) return this.onClosed(id, s, 'DATA');
    if (length > s.recvWindow) return this.streamError(id, H2Error.FLOW_CONTROL_ERROR);
    s.recvWindow -= length;
    s.received += length;
    s.dataBytes += end - start;
    if (s.contentLength >= 0 && (s.dataBytes > s.contentLength || (flags & END_STREAM && s.dataBytes !== s.contentLength))) {
      return this.streamError(id, H2Error.PROTOCOL_ERROR);
    }
    if (end > start) s.events?.data(b.subarray(start, end));
    if (flags & END_STREAM && !s.closed) this.remoteEnd(s);
  }

  /**
   * Where a DATA or HEADERS payload ends without its padding (RFC 9113 §6.1, §6.2; it starts a byte
   * later when PADDED), or -1 when the padding is as long as the payload (the connection failed).
   */
  private unpadded(b: Buffer, p: number, length: number, flags: number, what: string): number {
    if (!(flags & PADDED)) return p + length;
    if (length === 0 || b[p]! >= length) {
      this.fail(H2Error.PROTOCOL_ERROR, `${what} padding as long as its payload`);
      return -1;
    }
    return p + length - b[p]!;
  }

  /** Lets `s` receive `total` bytes in all. */
  grant(s: H2Stream, total: number): void {
    s.allowed = total;
    const more = total - s.received - s.recvWindow;
    if (more <= 0 || s.remoteEnded) return;
    s.recvWindow += more;
    this.write(frameOf(FrameType.WINDOW_UPDATE, 0, s.id, u32(more)));
    this.writes.soon();
  }

  private headers(b: Buffer, p: number, length: number, flags: number, id: number): void {
    if (id === 0) return this.fail(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    const end = this.unpadded(b, p, length, flags, 'HEADERS');
    if (end < 0) return;
    let start = flags & PADDED ? p + 1 : p;
    let dependsOnItself = false;
    if (flags & PRIORITY_FLAG) {
      if (end - start < 5) return this.fail(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      dependsOnItself = (b.readUInt32BE(start) & MAX_WINDOW) === id;
      start += 5;
    }
    const fragment = b.subarray(start, end);
    this.blockFlags = flags | (dependsOnItself ? 0x100 : 0);
    if (flags & END_HEADERS) {
      this.blockId = 0;
      this.block(id, fragment, this.blockFlags);
      return;
    }
    this.blockId = id;
    this.blockParts = [Buffer.from(fragment)];
    this.blockBytes = fragment.length;
  }

  private continuation(b: Buffer, p: number, length: number, flags: number): void {
    this.blockParts.push(Buffer.from(b.subarray(p, p + length)));
    this.blockBytes += length;
    if (this.blockBytes > BLOCK_FACTOR * this.o.settings.maxHeaderListSize + MAX_FRAME_SIZE) {
      return this.fail(H2Error.ENHANCE_YOUR_CALM, 'header block too long');
    }
    if (!(flags & END_HEADERS)) return;
    const id = this.blockId;
    this.blockId = 0;
    const block = Buffer.concat(this.blockParts, this.blockBytes);
    this.blockParts = [];
    this.block(id, block, this.blockFlags);
  }

  /** A complete header block on stream `id`: a new request, or trailers. */
  private block(id: number, block: Buffer, flags: number): void {
    // Decoded whatever becomes of the stream: the HPACK table is the connection's.
    let head: RequestHead;
    try {
      head = readRequest(this.decoder, block);
    } catch (err) {
      return this.fail(H2Error.COMPRESSION_ERROR, (err as Error).message);
    }
    const { request, malformed, tooLarge } = head;
    if (this.idle(id)) {
      if (id <= this.lastId || (id & 1) === 0) {
        return this.fail(H2Error.PROTOCOL_ERROR, `stream id ${id} is not odd and above the last (${this.lastId})`);
      }
      this.lastId = id;
      this.open(id, request, flags, malformed, tooLarge);
      return;
    }
    const s = this.streams.get(id);
    if (!s && this.recalled(id) === undefined) return this.fail(H2Error.PROTOCOL_ERROR, `HEADERS on stream ${id}, below the last (${this.lastId})`);
    if (!s || s.remoteEnded) return this.onClosed(id, s, 'HEADERS');
    // Trailers: they must end the stream, without pseudo-header fields (§8.1).
    if (!(flags & END_STREAM) || request.method !== undefined || request.path !== undefined || request.scheme !== undefined || request.authority !== undefined || malformed) {
      return this.streamError(id, H2Error.PROTOCOL_ERROR);
    }
    if (s.contentLength >= 0 && s.dataBytes !== s.contentLength) return this.streamError(id, H2Error.PROTOCOL_ERROR);
    this.remoteEnd(s);
  }

  private open(id: number, request: H2Request, flags: number, malformed: boolean, tooLarge: boolean): void {
    if (flags & 0x100) return this.streamError(id, H2Error.PROTOCOL_ERROR);
    if (this.state !== State.OPEN || id > this.goawayId) {
      // After GOAWAY: not served (the client retries it elsewhere).
      return this.streamError(id, H2Error.REFUSED_STREAM);
    }
    const max = this.o.settings.maxConcurrentStreams;
    if (max > 0 && this.streams.size >= max) return this.streamError(id, H2Error.REFUSED_STREAM);
    const cl = request.fields.get('content-length');
    let contentLength = -1;
    if (cl !== undefined || request.fields.has('content-length')) {
      if (cl === undefined || !/^\d{1,15}$/.test(cl)) malformed = true;
      else contentLength = Number(cl);
    }
    // §8.3.1: a request has :method, :scheme and :path (not empty), CONNECT aside (not served here).
    if (malformed || request.method === undefined || request.scheme === undefined || !request.path) {
      return this.streamError(id, H2Error.PROTOCOL_ERROR);
    }
    const s = new H2Stream(id, this, this.o.settings.initialWindowSize, this.peerInitialWindow);
    s.contentLength = contentLength;
    this.streams.set(id, s);
    if (tooLarge) {
      // RFC 9113 §10.5.1: 431, the stream ends.
      s.send(headerFrames(id, encodeFields([[':status', '431']]), true), 0);
      return;
    }
    s.events = this.o.onStream(s, request);
    if (flags & END_STREAM && !s.closed) {
      if (contentLength > 0) return this.streamError(id, H2Error.PROTOCOL_ERROR);
      this.remoteEnd(s);
    }
  }

  /** DATA or HEADERS on a half-closed (remote) stream `s`, or on a closed one (§5.1). */
  private onClosed(id: number, s: H2Stream | undefined, what: string): void {
    if (s) return this.streamError(id, H2Error.STREAM_CLOSED);
    const how = this.recalled(id);
    if (how === Closed.RESET_BY_US) return;
    if (how === Closed.ENDED) return this.fail(H2Error.STREAM_CLOSED, `${what} on stream ${id}, closed`);
    this.streamError(id, H2Error.STREAM_CLOSED);
  }

  private remoteEnd(s: H2Stream): void {
    s.remoteEnded = true;
    if (s.localEnded) {
      this.closeStream(s, Closed.ENDED);
      return;
    }
    s.events?.end();
  }

  /** Sends `s`'s held answer if the windows let it. */
  trySend(s: H2Stream): void {
    const frames = s.held;
    if (frames === undefined || s.closed) return;
    const n = s.heldData;
    if (n > 0 && (n > s.sendWindow || n > this.sendWindow)) {
      const room = Math.min(s.sendWindow, this.sendWindow);
      if (room > 0) this.sendPart(s, frames, room);
      this.blocked.add(s);
      return;
    }
    this.blocked.delete(s);
    s.sendWindow -= n;
    this.sendWindow -= n;
    s.held = undefined;
    this.write(frames);
    if (s.remoteEnded) this.closeStream(s, Closed.ENDED);
    // The client may still be sending: RST_STREAM NO_ERROR tells it to stop (§8.1), or it ends its side itself.
    else if (s.resetAfter) this.closeStream(s, Closed.RESET_BY_US, H2Error.NO_ERROR);
    else s.localEnded = true;
    this.writes.soon();
  }

  /**
   * Sends the part of `s`'s held answer that `room` bytes of window let go: the frames before its
   * DATA, and as much DATA as fits, split (§6.9.1: a sender uses what window there is; a client
   * that opens it a byte at a time still gets the answer). The rest stays held.
   */
  private sendPart(s: H2Stream, frames: Buffer, room: number): void {
    let at = 0;
    let sent = 0;
    for (;;) { // ends: the held DATA is more than `room`
      const length = frames.readUIntBE(at, 3);
      if (frames[at + 3] === FrameType.DATA) {
        if (sent + length > room) break;
        sent += length;
      }
      at += 9 + length;
    }
    const p = at + 9;
    const end = p + frames.readUIntBE(at, 3);
    const part = room - sent;
    this.write(frames.subarray(0, at));
    if (part > 0) this.write(frameOf(FrameType.DATA, 0, s.id, frames.subarray(p, p + part)));
    s.held = Buffer.concat([frameOf(FrameType.DATA, frames[at + 4]!, s.id, frames.subarray(p + part, end)), frames.subarray(end)]);
    s.heldData -= room;
    s.sendWindow -= room;
    this.sendWindow -= room;
    this.writes.soon();
  }

  private unblock(): void {
    for (const s of this.blocked) this.trySend(s);
  }

  resetStream(s: H2Stream, code: H2Error): void {
    this.closeStream(s, Closed.RESET_BY_US, code);
    this.writes.soon();
  }

  /** A stream error (§5.4.2): RST_STREAM `code`, the stream closed. */
  private streamError(id: number, code: H2Error): void {
    const s = this.streams.get(id);
    if (s) this.closeStream(s, Closed.RESET_BY_US, code);
    else {
      this.write(frameOf(FrameType.RST_STREAM, 0, id, u32(code)));
      this.remember(id, Closed.RESET_BY_US);
    }
  }

  private closeStream(s: H2Stream, how: Closed, code = H2Error.NO_ERROR): void {
    if (s.closed) return;
    s.closed = true;
    s.held = undefined;
    this.blocked.delete(s);
    this.streams.delete(s.id);
    if (how === Closed.RESET_BY_US && this.state !== State.CLOSED) this.write(frameOf(FrameType.RST_STREAM, 0, s.id, u32(code)));
    this.remember(s.id, how);
    s.events?.close();
    if (this.state === State.GOING_AWAY && this.streams.size === 0) this.end();
  }

  /**
   * Remembers how stream `id` closed, in place of the oldest. A stream closes once, so its id is
   * new here; an id reset before it opened (PRIORITY on an idle stream) may come again, and is
   * then found newest first.
   */
  private remember(id: number, how: Closed): void {
    const next = this.recentNext;
    this.recentIds[next] = id;
    this.recentHow[next] = how;
    this.recentNext = next + 1 === REMEMBERED ? 0 : next + 1;
  }

  /** How a remembered stream closed (the newest entry for it); undefined when it is not among the last REMEMBERED. */
  private recalled(id: number): Closed | undefined {
    if (id === 0) return undefined;
    for (let i = 1, at = this.recentNext; i <= REMEMBERED; i++) {
      at = at === 0 ? REMEMBERED - 1 : at - 1;
      if (this.recentIds[at] === id) return this.recentHow[at] as Closed;
    }
    return undefined;
  }

  private closeStreams(): void {
    for (const s of [...this.streams.values()]) this.closeStream(s, Closed.RESET_BY_US);
  }

  private goaway(code: H2Error, debug = ''): void {
    const payload = Buffer.allocUnsafe(8 + Buffer.byteLength(debug));
    payload.writeUInt32BE(this.lastId, 0);
    payload.writeUInt32BE(code, 4);
    payload.write(debug, 8);
    this.goawayId = this.lastId;
    this.write(frameOf(FrameType.GOAWAY, 0, 0, payload));
  }

  /** The client ended its side, or we are done: what is queued leaves, then the socket ends. */
  private shutdown(): void {
    this.state = State.CLOSED;
    this.closeStreams();
    this.end();
  }

  private end(): void {
    this.writes.now();
    if (!this.socket.destroyed) {
      this.socket.end();
      // A client that does not close its side: cut after a moment.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
  }

  private write(b: Buffer): void {
    this.writes.push(b);
  }
}
