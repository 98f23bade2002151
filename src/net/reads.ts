// Socket reads into memory the receiver owns (issue 20). Node reads a socket into a new 64 KiB
// ArrayBuffer per read: about 800 MB/s of them under the bench's OTLP/HTTP load, which V8 counts as
// external memory allocated since the last mark-compact, so it ran a full GC every ~125 requests of
// 221 KB (a quarter of the sidecar's CPU, most of it concurrent marking). net.Socket's `onread`
// option (Node >= 12) has the kernel write into a buffer given by the caller and calls back with the
// byte count instead; Node offers it for sockets the caller constructs, not for those a server
// accepts, so readInto() sets on an accepted socket what the option sets in net.Socket's
// constructor (found by the symbols' names), and calls the handle's useUserBuffer() as it does.
// Where that machinery is not found, userReads() says so and the caller reads the Node way.
import net from 'node:net';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

interface ReadSymbols {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let symbols: ReadSymbols | undefined | null = null;

/** net.Socket's onread fields, or undefined when this Node has other internals. */
function readSymbols(): ReadSymbols | undefined {
  if (symbols !== null) return symbols;
  const probe = new net.Socket();
  const own = Object.getOwnPropertySymbols(probe);
  const find = (name: string): symbol | undefined => own.find((s) => s.description === name);
  const buffer = find('kBuffer');
  const callback = find('kBufferCb');
  const generator = find('kBufferGen');
  // A socket made without onread has all three, null (lib/net.js).
  const plain = (s: symbol | undefined): s is symbol => s !== undefined && (probe as unknown as Record<symbol, unknown>)[s] === null;
  symbols = plain(buffer) && plain(callback) && plain(generator) ? { buffer, callback, generator } : undefined;
  probe.destroy();
  return symbols;
}

/** Whether readInto() can work in this Node. */
export function userReads(): boolean {
  return readSymbols() !== undefined;
}

/**
 * From now on, `socket` (accepted, not yet read from: call it in the server's 'connection' event)
 * reads into `first`, then into whatever `next()` returns after each read; `onRead(n, into)` gets
 * the bytes first..n of the view they landed in (returning false stops reading, as pause() does).
 * The socket emits no 'data'; 'end', 'close', pause() and resume() work as before. False when it
 * could not be done (the socket is left as it was).
 */
export function readInto(socket: net.Socket, first: Uint8Array, next: () => Uint8Array, onRead: (n: number, into: Uint8Array) => boolean): boolean {
  const s = readSymbols();
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => unknown } })._handle;
  if (s === undefined || typeof handle?.useUserBuffer !== 'function') return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[s.buffer] = first;
  fields[s.generator] = next;
  fields[s.callback] = onRead;
  handle.useUserBuffer(first);
  return true;
}

/**
 * Buffers given back by closed connections, for the next ones: a connection opened per request
 * (as some exporters do) gets one without allocating. At most `maxBytes` kept, none over `largest`.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number, private readonly largest: number) {}

  /**
   * A buffer of at least `size` bytes (a kept one when one fits), its length a multiple of `unit`:
   * the one given back last that fits, whose bytes are the likeliest still in the CPU's caches
   * (a gRPC message is copied into it as it comes).
   */
  take(size: number, unit: number): Buffer {
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const b = free[i]!;
      if (b.length >= size && b.length <= 2 * size + unit) {
        free[i] = free[free.length - 1]!;
        free.pop();
        this.bytes -= b.length;
        return b;
      }
    }
    return Buffer.allocUnsafeSlow(Math.ceil(size / unit) * unit);
  }

  /** Takes back a buffer nothing reads into any more. */
  give(b: Buffer): void {
    if (b.length > this.largest || this.bytes + b.length > this.maxBytes) return;
    this.free.push(b);
    this.bytes += b.length;
  }

  /** Bytes kept now (for tests). */
  get kept(): number {
    return this.bytes;
  }
}

/** Reads land in buffers of this size (Node's own read size). */
export const READ_UNIT = 64 * 1024;

/** Where every ConnectionReads' reads land while it holds no bytes: a read is taken, or moved, before the next. */
let sharedReads: Buffer | undefined;
/** The own buffers of ConnectionReads between uses. */
const readPool = new BufferPool(4 * 1024 * 1024, READ_UNIT);

/**
 * One connection's reads, into buffers the receiver owns (readInto, or a copy of Node's chunks
 * where it cannot be done), for a consumer that takes whole units (frames) off the bytes at hand
 * and leaves a partial one: no chunk of Node's outlives its read. A read lands in a buffer shared
 * by all connections when the connection holds no bytes; a partial unit left is moved to the
 * connection's own buffer (taken from a pool, given back once it is consumed), and the next read
 * lands after it. Units must be shorter than READ_UNIT / 2 (HTTP/2 frames are at most 16,393 bytes
 * here), so a read always has room.
 */
export class ConnectionReads {
  private buf: Buffer;
  private own: Buffer | undefined;
  /** The bytes at hand not yet taken: buf[start, end). */
  private start = 0;
  private end = 0;

  /**
   * `take(b, start, end)` consumes what it can of b[start, end) (synchronously: b is reused after)
   * and returns where it stopped. `initial`: bytes already read from the socket, taken first.
   */
  constructor(socket: net.Socket, private readonly take: (b: Buffer, start: number, end: number) => number, initial?: Uint8Array) {
    this.buf = sharedReads ??= Buffer.allocUnsafeSlow(READ_UNIT);
    if (initial !== undefined) this.copy(initial);
    if (!readInto(socket, this.next(), () => this.next(), (n) => this.landed(n))) socket.on('data', (chunk: Buffer) => this.copy(chunk));
  }

  /** Bytes held between reads (a partial unit), for tests. */
  get held(): number {
    return this.end - this.start;
  }

  /** Gives back the own buffer (the connection closed: nothing more is read). */
  release(): void {
    this.start = this.end = 0;
    if (this.own !== undefined) readPool.give(this.own);
    this.own = undefined;
    this.buf = sharedReads!;
  }

  private copy(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length;) {
      const into = this.next();
      const n = Math.min(into.length, chunk.length - at);
      into.set(chunk.subarray(at, at + n));
      at += n;
      this.landed(n);
    }
  }

  private landed(n: number): boolean {
    this.end += n;
    this.start = this.take(this.buf, this.start, this.end);
    return true;
  }

  /** Where the next read lands: the shared buffer, or after the partial unit in the own one. */
  private next(): Buffer {
    const have = this.end - this.start;
    if (have === 0) {
      this.release();
      return this.buf;
    }
    if (this.own === undefined) this.own = readPool.take(READ_UNIT, READ_UNIT);
    if (this.buf !== this.own) this.own.set(this.buf.subarray(this.start, this.end), 0);
    else if (this.start > 0) this.own.copyWithin(0, this.start, this.end);
    this.buf = this.own;
    this.start = 0;
    this.end = have;
    return this.own.subarray(have);
  }
}
