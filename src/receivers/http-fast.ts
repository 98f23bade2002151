// The OTLP/HTTP receiver's fast path (issue 20): the common request, `POST /v1/traces` over
// HTTP/1.1 with a Content-Length protobuf body, is read straight off the connection, and the rest
// of the time node:http reads it. A bare node:http server spends about as much CPU per 512-span
// request as the core does (an IncomingMessage and a ServerResponse stream per request, a copy of
// every body chunk by its parser); this path keeps the socket's own chunks and copies them once,
// into the core's input buffer, and answers with one write of a prepared response.
//
// It takes only what it can read without doubt: a request line and headers complete in the bytes
// at hand, all visible ASCII, an exact request line, one Host, one Content-Length, and nothing it
// does not handle itself (Transfer-Encoding, Expect, Upgrade, Connection other than keep-alive).
// Anything else, from the first byte of that request on, and the connection with it, goes to
// node:http's own connection handler, which answers as it always did (400, 404, 405, 408, 413,
// 415, 429, 431, 100-continue, chunked bodies, JSON): a connection handed over stays there.
// The limits are the node:http path's, checked on one timer for all connections: read_header_timeout
// and read_timeout (408, counted read_timeout), write_timeout and stalled_request_timeout (cut,
// counted), idle_timeout (closed).
import http from 'node:http';
import type net from 'node:net';
import type { BudgetTicket } from './budget.js';

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
  /** Hands a complete body (the chunks it came in) to the ingest path, counts it, and says what to answer. */
  answer(chunks: readonly Uint8Array[], encoding: string | undefined): FastAnswer;
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

interface Connection {
  readonly socket: net.Socket;
  state: typeof IDLE | typeof BODY;
  /** Body bytes declared and read so far, the chunks they came in (views of the socket's buffers). */
  need: number;
  have: number;
  readonly chunks: Buffer[];
  encoding: string | undefined;
  ticket: BudgetTicket | undefined;
  /** performance.now() when the connection opened or its last answer was written (IDLE), or its request began (BODY). */
  since: number;
  /** performance.now() at the end of the last request's headers (write_timeout runs from there). */
  headEnd: number;
  /** When bytes last came (as seen by the timer), and whether some came since it last looked. */
  lastProgress: number;
  progressed: boolean;
  answered: number;
  /** The server is closing: answer the request in progress with Connection: close, then end. */
  closeAfter: boolean;
  paused: boolean;
  onData: (chunk: Buffer) => void;
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

/**
 * Takes over `server`'s connections (plain HTTP only: TLS stays on node:http) and returns what its
 * close() needs. Call before the server listens and before anything else listens for 'connection'.
 */
export function installFastPath(o: FastPathOptions): FastPath | undefined {
  const { server } = o;
  const handlers = server.listeners('connection');
  if (handlers.length !== 1) return undefined; // not node:http as this was written against: leave it
  const nodeHandler = handlers[0] as (socket: net.Socket) => void;
  server.removeListener('connection', nodeHandler);
  const connections = new Set<Connection>();
  let closing = false;

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

  const release = (c: Connection): void => {
    c.ticket?.release();
    c.ticket = undefined;
    c.chunks.length = 0;
  };

  const forget = (c: Connection): void => {
    connections.delete(c);
    const s = c.socket;
    s.removeListener('data', c.onData);
    s.removeListener('end', c.onEnd);
    s.removeListener('close', c.onClose);
    s.removeListener('drain', c.onDrain);
    if (connections.size === 0) stopTimer();
  };

  /** node:http takes the connection from `rest` on (the first byte of a request it reads whole). */
  const handOver = (c: Connection, rest: Buffer): void => {
    forget(c);
    release(c);
    nodeHandler.call(server, c.socket);
    if (rest.length > 0) c.socket.emit('data', rest);
  };

  const complete = (c: Connection): void => {
    let answer: FastAnswer;
    try {
      answer = o.answer(c.chunks, c.encoding);
    } catch (err) {
      // answer() catches everything itself; this is the last line of defence (as node:http's path has).
      o.onError(err);
      answer = INTERNAL_ERROR;
      c.closeAfter = true;
    } finally {
      release(c);
    }
    c.state = IDLE;
    c.since = performance.now();
    c.answered++;
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
  };

  const read = (c: Connection, chunk: Buffer): void => {
    c.progressed = true;
    let at = 0;
    while (at < chunk.length) {
      if (c.state === IDLE) {
        const end = chunk.indexOf(CRLFCRLF, at);
        const head = end < 0 || end - at > MAX_HEAD ? undefined : parseHead(chunk.toString('latin1', at, end), o.accepts);
        const ticket = head === undefined || head.length > o.maxBodyBytes ? undefined : o.acquire(head.length);
        if (ticket === undefined) {
          handOver(c, at === 0 ? chunk : chunk.subarray(at));
          return;
        }
        c.state = BODY;
        c.need = head!.length;
        c.have = 0;
        c.encoding = head!.encoding;
        c.ticket = ticket;
        c.since = c.headEnd = c.lastProgress = performance.now();
        at = end + 4;
        if (c.need === 0) {
          complete(c); // an empty body: answered now, not when more bytes come
          continue;
        }
      }
      const take = Math.min(c.need - c.have, chunk.length - at);
      if (take > 0) {
        c.chunks.push(take === chunk.length ? chunk : chunk.subarray(at, at + take));
        c.have += take;
        at += take;
      }
      if (c.have === c.need) complete(c);
    }
  };

  const onConnection = (socket: net.Socket): void => {
    const c: Connection = {
      socket, state: IDLE, need: 0, have: 0, chunks: [], encoding: undefined, ticket: undefined,
      since: performance.now(), headEnd: 0, lastProgress: 0, progressed: false, answered: 0, closeAfter: false, paused: false,
      onData: (chunk) => read(c, chunk),
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
      },
      onDrain: () => {
        if (c.paused) {
          c.paused = false;
          socket.resume();
        }
      },
    };
    if (closing) {
      socket.destroy();
      return;
    }
    connections.add(c);
    socket.on('error', noop);
    socket.on('data', c.onData);
    socket.on('end', c.onEnd);
    socket.on('close', c.onClose);
    socket.on('drain', c.onDrain);
    startTimer();
  };
  server.prependListener('connection', onConnection);

  // The limits, on one timer for all connections (node:http checks its own every quarter of the
  // shortest, too): each fires no sooner than its limit, and at most a period late.
  const headers = (): number => server.headersTimeout || Infinity;
  const request = (): number => server.requestTimeout || Infinity;
  const writeLimit = o.write_timeout > 0 ? o.write_timeout : Infinity;
  const stallLimit = o.stalled_request_timeout > 0 ? o.stalled_request_timeout : Infinity;
  let timer: NodeJS.Timeout | undefined;
  function startTimer(): void {
    if (timer !== undefined) return;
    const shortest = Math.min(headers(), request(), writeLimit, stallLimit, server.keepAliveTimeout || Infinity);
    timer = setInterval(check, Math.max(50, Math.min(1000, Math.floor(shortest / 4))));
    timer.unref();
  }
  function stopTimer(): void {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  }
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
  function check(): void {
    const now = performance.now();
    for (const c of connections) {
      if (c.progressed) {
        c.progressed = false;
        c.lastProgress = now;
      }
      if (c.state === BODY) {
        const write = c.headEnd + writeLimit;
        const stall = c.lastProgress + stallLimit;
        const read = c.since + request();
        const first = Math.min(write, stall, read);
        if (first > now) continue;
        if (first === write) cut(c, 'write_timeout');
        else if (first === stall) cut(c, 'stalled');
        else timeOut(c);
      } else if (c.socket.writableLength > 0) {
        // An answer the sender does not read: write_timeout from the end of its request's headers.
        if (c.headEnd + writeLimit <= now) cut(c, 'write_timeout');
      } else if (c.answered === 0) {
        // Nothing came since the connection opened: node:http's header timeout (408) runs from its start.
        if (c.since + Math.min(headers(), request()) <= now) timeOut(c);
      } else if (server.keepAliveTimeout > 0 && c.since + server.keepAliveTimeout <= now) {
        forget(c);
        c.socket.destroy();
      }
    }
  }

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
