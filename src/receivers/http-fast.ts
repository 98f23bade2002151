// The OTLP/HTTP receiver's fast path (issue 20): the common request, `POST /v1/traces` over
// HTTP/1.1 with a Content-Length protobuf body, is read straight off the connection, and the rest
// of the time node:http reads it. A bare node:http server spends about as much CPU per 512-span
// request as the core does (an IncomingMessage and a ServerResponse stream per request, a copy of
// every body chunk by its parser); this path has the kernel write each connection's bytes into a
// buffer of its own, reused from request to request (net/reads.ts: no ArrayBuffer per read, which
// drove V8 to a full GC every ~125 requests), copies the body once, into the core's input buffer,
// and answers with one write of a prepared response.
//
// It takes only what it can read without doubt: a request line and headers complete in the bytes
// at hand, all visible ASCII, an exact request line, one Host, one Content-Length, and nothing it
// does not handle itself (Transfer-Encoding, Expect, Upgrade, Connection other than keep-alive).
// Anything else, from the first byte of that request on, and the connection with it, goes to
// node:http's own connection handler, which answers as it always did (400, 404, 405, 408, 413,
// 415, 429, 431, 100-continue, chunked bodies, JSON): a connection handed over stays there.
// The limits are the node:http path's, on the receiver's Watchdog (net/watchdog.ts) with its other
// deadlines: read_header_timeout and read_timeout (408, counted read_timeout), write_timeout and
// stalled_request_timeout (cut, counted), idle_timeout (closed).
import http from 'node:http';
import type net from 'node:net';
import type { BudgetTicket } from './budget.js';
import { BufferPool, readInto, userReads } from '../net/reads.js';
import type { Watch, Watchdog } from '../net/watchdog.js';

/** What the fast path answers a complete request with. */
export interface FastAnswer {
  status: number;
  contentType: string;
  body: Uint8Array;
  /** Seconds, for a Retry-After header. */
  retryAfter?: number;
}

export interface FastPathOptions {
  /** The receiver's node:http server, not yet listening: its connection handler is taken over. */
  server: http.Server;
  maxBodyBytes: number;
  /** Whether a request with these headers is one this receiver takes as protobuf (format, encoding, token). */
  accepts(contentType: string, encoding: string | undefined, authorization: string | undefined): boolean;
  /** Budget for a declared body, or undefined when full (node:http then answers 429). */
  acquire(bytes: number): BudgetTicket | undefined;
  /**
   * Hands a complete body to the ingest path, counts it, and says what to answer. The body is a
   * view of the connection's read buffer, which the next read overwrites: ingest it before returning.
   */
  answer(body: Uint8Array, encoding: string | undefined): FastAnswer;
  /** The receiver's one timer for deadlines. */
  watchdog: Watchdog;
  write_timeout: number;
  stalled_request_timeout: number;
  /** A request cut by write_timeout or stalled_request_timeout: counted and logged (the socket is destroyed here). */
  onCut(reason: 'write_timeout' | 'stalled', socket: net.Socket): void;
  /** A request not read within read_header_timeout / read_timeout: counted and logged (answered 408 here). */
  onReadTimeout(socket: net.Socket): void;
  /** answer() threw (it should not): logged; the request is answered 500 and its connection closed. */
  onError(err: unknown): void;
}

/** What listenHttp's close() calls besides the node:http server's own. */
export interface FastPath {
  /** Closes the connections with no request in progress; the others close after their answer. */
  closeIdle(): void;
  /** Cuts every connection still open. */
  closeAll(): void;
  /** Connections on the fast path now (for tests). */
  readonly connections: number;
}

/** Heads longer than this go to node:http (whose own limit, 16 KiB, answers 431). */
const MAX_HEAD = 8 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');
/** Anything but tab, visible ASCII and space, CR and LF: node:http decides. */
const UNUSUAL = /[^\t\x20-\x7e\r\n]/;
/** RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DIGITS = /^\d{1,15}$/;
const TIMEOUT_408 = Buffer.from('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'latin1');
const BAD_400 = Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'latin1');

const INTERNAL_ERROR: FastAnswer = { status: 500, contentType: 'text/plain; charset=utf-8', body: Buffer.from('internal error\n') };

const IDLE = 0;
const BODY = 1;

/** Reads land in buffers whose lengths are multiples of this (Node's own read size). */
const READ_UNIT = 64 * 1024;
/** Room for a head before the body, so that a request as large as the last fits the same buffer. */
const HEAD_ROOM = 16 * 1024;
/**
 * A connection keeps its buffer between requests (the next one lands in it, no copy) while all
 * connections' buffers together are under HELD_MAX and its own under KEEP_MAX; otherwise its next
 * request's first read lands in the shared buffer and is copied into a buffer taken then.
 */
const HELD_MAX = 16 * 1024 * 1024;
const KEEP_MAX = 1024 * 1024;

interface Connection {
  readonly socket: net.Socket;
  state: typeof IDLE | typeof BODY;
  /** Where reads land: `own`, or the shared buffer between requests when it has none. */
  buf: Buffer;
  own: Buffer | undefined;
  /** The bytes at hand not yet taken: buf[start, end). In BODY, the body starts at `start`. */
  start: number;
  end: number;
  /** The body's declared length (BODY). */
  need: number;
  encoding: string | undefined;
  ticket: BudgetTicket | undefined;
  answered: number;
  /** The server is closing: answer the request in progress with Connection: close, then end. */
  closeAfter: boolean;
  paused: boolean;
  /** node:http has the connection: bytes that still come here are passed on as 'data'. */
  handedOver: boolean;
  /** The deadlines: headers of the first request, keep-alive, and a request's write, stall and read limits. */
  readonly first: Watch;
  readonly idle: Watch;
  readonly write: Watch;
  readonly stall: Watch;
  readonly read: Watch;
  onEnd: () => void;
  onClose: () => void;
  onDrain: () => void;
}

interface Head {
  length: number;
  encoding: string | undefined;
}

/**
 * Reads the request line and headers in `text` (without the blank line). Undefined unless it is a
 * request this path takes: then node:http reads it instead.
 */
function parseHead(text: string, accepts: FastPathOptions['accepts']): Head | undefined {
  if (UNUSUAL.test(text)) return undefined;
  const lines = text.split('\r\n');
  const first = lines[0]!;
  if (!first.startsWith('POST /v1/traces') || !first.endsWith(' HTTP/1.1')) return undefined;
  const target = first.slice(5, first.length - 9);
  if (target !== '/v1/traces' && !(target.startsWith('/v1/traces?') && !target.includes(' '))) return undefined;
  let length: string | undefined;
  let contentType: string | undefined;
  let encoding: string | undefined;
  let authorization: string | undefined;
  let host = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0 || line.includes('\r') || line.includes('\n')) return undefined;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return undefined;
    const value = line.slice(colon + 1).trim();
    switch (name.toLowerCase()) {
      case 'content-length':
        if (length !== undefined || !DIGITS.test(value)) return undefined;
        length = value;
        break;
      case 'content-type':
        if (contentType !== undefined) return undefined;
        contentType = value;
        break;
      case 'content-encoding':
        if (encoding !== undefined) return undefined;
        encoding = value;
        break;
      case 'host':
        if (host) return undefined;
        host = true;
        break;
      case 'authorization':
        if (authorization !== undefined) return undefined;
        authorization = value;
        break;
      case 'connection':
        if (value.toLowerCase() !== 'keep-alive') return undefined;
        break;
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
        return undefined;
      default:
    }
  }
  if (length === undefined || contentType === undefined || !host || !accepts(contentType, encoding, authorization)) return undefined;
  return { length: Number(length), encoding };
}

/** Node's Date header value, made once a second as node:http makes it. */
let date = '';
function currentDate(): string {
  if (date === '') {
    const now = new Date();
    date = now.toUTCString();
    setTimeout(() => { date = ''; }, 1000 - now.getMilliseconds()).unref();
  }
  return date;
}


/** The buffer between requests of connections that hold none: a read lands there and is taken or moved before the next. */
let shared: Buffer | undefined;
/** Buffers of closed connections, for new ones. */
const pool = new BufferPool(4 * 1024 * 1024, KEEP_MAX);

/**
 * Takes over `server`'s connections (plain HTTP only: TLS stays on node:http) and returns what its
 * close() needs. Call before the server listens and before anything else listens for 'connection'.
 */
export function installFastPath(o: FastPathOptions): FastPath | undefined {
  const { server, watchdog } = o;
  const handlers = server.listeners('connection');
  // Not node:http as this was written against, or a Node whose sockets cannot read into our buffers: leave it.
  if (handlers.length !== 1 || !userReads()) return undefined;
  const nodeHandler = handlers[0] as (socket: net.Socket) => void;
  server.removeListener('connection', nodeHandler);
  const connections = new Set<Connection>();
  let closing = false;
  /** Bytes of the connections' own buffers. */
  let held = 0;
  shared ??= Buffer.allocUnsafeSlow(READ_UNIT);
  const scratch = shared;

  /** The prepared answers, by FastAnswer (the receiver answers success with one constant object). */
  const prepared = new WeakMap<FastAnswer, { date: string; keepAlive: Buffer }>();
  const keepAliveHeader = (): string => {
    const t = server.keepAliveTimeout;
    return t > 0 ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(t / 1000)}\r\n` : 'Connection: keep-alive\r\n';
  };
  const format = (a: FastAnswer, keepAlive: boolean): Buffer => {
    const head = `HTTP/1.1 ${a.status} ${http.STATUS_CODES[a.status] ?? ''}\r\n` +
      (a.retryAfter === undefined ? '' : `Retry-After: ${a.retryAfter}\r\n`) +
      `Content-Type: ${a.contentType}\r\nContent-Length: ${a.body.byteLength}\r\nDate: ${currentDate()}\r\n` +
      (keepAlive ? keepAliveHeader() : 'Connection: close\r\n') + '\r\n';
    const out = Buffer.allocUnsafe(Buffer.byteLength(head, 'latin1') + a.body.byteLength);
    const n = out.write(head, 0, 'latin1');
    out.set(a.body, n);
    return out;
  };
  const bytesOf = (a: FastAnswer, keepAlive: boolean): Buffer => {
    if (!keepAlive) return format(a, false);
    const d = currentDate();
    let p = prepared.get(a);
    if (p === undefined || p.date !== d) {
      p = { date: d, keepAlive: format(a, true) };
      prepared.set(a, p);
    }
    return p.keepAlive;
  };

  // The limits: each fires no sooner than its limit after it was set (net/watchdog.ts).
  const headers = (): number => server.headersTimeout || Infinity;
  const request = (): number => server.requestTimeout || Infinity;
  const writeLimit = o.write_timeout > 0 ? o.write_timeout : Infinity;
  const stallLimit = o.stalled_request_timeout > 0 ? o.stalled_request_timeout : Infinity;
  const arm = (w: Watch): void => {
    if (w.ms !== Infinity) watchdog.restart(w);
  };

  const giveBack = (c: Connection): void => {
    if (c.own === undefined) return;
    held -= c.own.length;
    pool.give(c.own);
    c.own = undefined;
  };

  const release = (c: Connection): void => {
    c.ticket?.release();
    c.ticket = undefined;
  };

  const forget = (c: Connection): void => {
    connections.delete(c);
    const s = c.socket;
    s.removeListener('end', c.onEnd);
    s.removeListener('close', c.onClose);
    s.removeListener('drain', c.onDrain);
    watchdog.stop(c.first);
    watchdog.stop(c.idle);
    watchdog.stop(c.write);
    watchdog.stop(c.stall);
    watchdog.stop(c.read);
  };

  /** node:http takes the connection from the bytes at hand on (the first byte of a request it reads whole). */
  const handOver = (c: Connection): void => {
    const rest = c.end > c.start ? Buffer.from(c.buf.subarray(c.start, c.end)) : undefined;
    c.handedOver = true;
    c.start = c.end = 0;
    forget(c);
    release(c);
    // Nothing reads into it before this read's callback returns, and the next read goes to the shared
    // buffer (nextRead), if not to node:http's parser, which reads on top of this listener.
    giveBack(c);
    nodeHandler.call(server, c.socket);
    if (rest !== undefined) c.socket.emit('data', rest);
  };

  const complete = (c: Connection, body: Uint8Array): void => {
    let answer: FastAnswer;
    try {
      answer = o.answer(body, c.encoding);
    } catch (err) {
      // answer() catches everything itself; this is the last line of defence (as node:http's path has).
      o.onError(err);
      answer = INTERNAL_ERROR;
      c.closeAfter = true;
    } finally {
      release(c);
    }
    c.state = IDLE;
    c.answered++;
    watchdog.stop(c.stall);
    watchdog.stop(c.read);
    arm(c.idle);
    const s = c.socket;
    if (c.closeAfter) {
      s.end(bytesOf(answer, false));
      return;
    }
    if (!s.write(bytesOf(answer, true)) && !c.paused) {
      // The sender does not read its answers: stop reading its requests until they drain.
      c.paused = true;
      s.pause();
    }
    // An answer still queued: write_timeout (from the end of its request's headers) still runs.
    if (s.writableLength === 0) watchdog.stop(c.write);
  };

  /** Takes the requests complete in the bytes at hand. */
  const take = (c: Connection): void => {
    while (!c.handedOver && !c.socket.destroyed) {
      if (c.state === IDLE) {
        if (c.start === c.end) return;
        const at = c.buf.indexOf(CRLFCRLF, c.start);
        const end = at < 0 || at + 4 > c.end ? -1 : at;
        const head = end < 0 || end - c.start > MAX_HEAD ? undefined : parseHead(c.buf.toString('latin1', c.start, end), o.accepts);
        const ticket = head === undefined || head.length > o.maxBodyBytes ? undefined : o.acquire(head.length);
        if (ticket === undefined) {
          handOver(c);
          return;
        }
        c.state = BODY;
        c.need = head!.length;
        c.encoding = head!.encoding;
        c.ticket = ticket;
        c.start = end + 4;
        watchdog.stop(c.first);
        watchdog.stop(c.idle);
        arm(c.write);
        arm(c.stall);
        arm(c.read);
      }
      if (c.end - c.start < c.need) return;
      const body = c.buf.subarray(c.start, c.start + c.need);
      c.start += c.need;
      complete(c, body);
      if (c.closeAfter) return; // answered with Connection: close: nothing more is read
    }
  };

  const onRead = (c: Connection, n: number, into: Uint8Array): boolean => {
    if (c.handedOver) {
      // node:http's parser gave the socket back (an upgrade): what comes is its, as 'data'.
      return c.socket.push(Buffer.from(into.subarray(0, n)));
    }
    c.end += n;
    if (c.state === BODY) watchdog.refresh(c.stall);
    take(c);
    return true;
  };

  /** Where the next read lands: the rest of the body, or (between requests) the connection's own buffer or the shared one. */
  const nextRead = (c: Connection): Uint8Array => {
    if (c.handedOver || c.socket.destroyed) return scratch;
    if (c.state === IDLE) {
      // Between requests, nothing at hand (take() hands over a connection with a partial head).
      c.start = c.end = 0;
      if (c.own !== undefined && c.own.length <= KEEP_MAX && held <= HELD_MAX) return (c.buf = c.own);
      giveBack(c);
      return (c.buf = scratch);
    }
    if (c.buf !== scratch && c.buf.length - c.start >= c.need) return c.buf.subarray(c.end);
    // The body does not fit where it is: to the start of the own buffer, or to a larger one.
    const have = c.end - c.start;
    let to = c.own;
    if (to === undefined || to.length < c.need + HEAD_ROOM) {
      if (to !== undefined && to !== c.buf) giveBack(c);
      to = pool.take(c.need + HEAD_ROOM, READ_UNIT);
      held += to.length;
    }
    if (to === c.buf) to.copyWithin(0, c.start, c.end);
    else to.set(c.buf.subarray(c.start, c.end), 0);
    if (c.own !== undefined && c.own !== to) giveBack(c);
    c.own = to;
    c.buf = to;
    c.start = 0;
    c.end = have;
    return to.subarray(have);
  };

  const timeOut = (c: Connection): void => {
    o.onReadTimeout(c.socket);
    forget(c);
    release(c);
    c.socket.end(TIMEOUT_408);
    c.socket.destroy();
  };
  const cut = (c: Connection, reason: 'write_timeout' | 'stalled'): void => {
    forget(c);
    release(c);
    o.onCut(reason, c.socket);
    c.socket.destroy();
  };

  const onConnection = (socket: net.Socket): void => {
    if (closing) {
      socket.destroy();
      return;
    }
    const c: Connection = {
      socket, state: IDLE, buf: scratch, own: undefined, start: 0, end: 0, need: 0, encoding: undefined, ticket: undefined,
      answered: 0, closeAfter: false, paused: false, handedOver: false,
      // Nothing came since the connection opened: node:http's header timeout (408) runs from its start.
      first: watchdog.watch(Math.min(headers(), request()), () => timeOut(c)),
      idle: watchdog.watch(server.keepAliveTimeout || Infinity, () => {
        if (c.socket.writableLength > 0) return; // an answer the sender does not read: `write` cuts it
        forget(c);
        c.socket.destroy();
      }),
      write: watchdog.watch(writeLimit, () => {
        if (c.state === BODY || c.socket.writableLength > 0) cut(c, 'write_timeout');
      }),
      stall: watchdog.watch(stallLimit, () => cut(c, 'stalled')),
      read: watchdog.watch(request(), () => timeOut(c)),
      onEnd: () => {
        // The sender finished sending: what it sent is answered; a body cut short is a bad request (as node:http says).
        if (c.state === BODY) {
          socket.end(BAD_400);
          socket.destroy();
        } else socket.end();
      },
      onClose: () => {
        forget(c);
        release(c);
        giveBack(c);
      },
      onDrain: () => {
        if (c.state === IDLE) watchdog.stop(c.write);
        if (c.paused) {
          c.paused = false;
          socket.resume();
        }
      },
    };
    if (!readInto(socket, scratch, () => nextRead(c), (n, into) => onRead(c, n, into))) {
      nodeHandler.call(server, socket);
      return;
    }
    connections.add(c);
    socket.on('error', noop);
    socket.on('end', c.onEnd);
    socket.on('close', c.onClose);
    socket.on('drain', c.onDrain);
    arm(c.first);
    socket.resume();
  };
  server.prependListener('connection', onConnection);

  return {
    closeIdle(): void {
      closing = true;
      for (const c of connections) {
        if (c.state === BODY) c.closeAfter = true;
        else if (c.socket.writableLength > 0) c.socket.end();
        else c.socket.destroy();
      }
    },
    closeAll(): void {
      for (const c of connections) c.socket.destroy();
    },
    get connections(): number {
      return connections.size;
    },
  };
}

function noop(): void {}
