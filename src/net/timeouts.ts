// Timeouts of node:http(s) servers (issue 21 item 3), with the Collector's names and meanings
// (confighttp: read_header_timeout, read_timeout, idle_timeout). Node enforces the first two on a
// timer that looks at every connection every connectionsCheckingInterval (30 s by default, which
// would let a 1 s limit last 31 s): the interval is set from the limits. A request that runs out of
// time is answered 408 (when nothing was written yet) and its connection closed, as Node's own
// handler does; here it is also reported (counted and logged by the caller).
import type http from 'node:http';
import type https from 'node:https';
import type { Duplex } from 'node:stream';

export interface HttpTimeouts {
  /** Headers must be read within this many ms; 0 or absent = Node's default (60 s). */
  read_header_timeout?: number;
  /** The whole request (headers and body) within this many ms; 0 = none; absent = Node's default (300 s). */
  read_timeout?: number;
  /** A keep-alive connection idle this many ms is closed; 0 or absent = Node's default (5 s). */
  idle_timeout?: number;
}

/** Node checks header and request timeouts this often at most (and at least every 30 s, its default). */
const MIN_CHECK_INTERVAL_MS = 50;
const MAX_CHECK_INTERVAL_MS = 30_000;

/**
 * Applies the timeouts to `server` (before it listens: the checking interval is read then) and
 * calls `onTimeout` for each request cut by them.
 */
export function applyHttpTimeouts(server: http.Server | https.Server, t: HttpTimeouts, onTimeout?: (socket: Duplex) => void): void {
  if (t.read_timeout !== undefined) server.requestTimeout = t.read_timeout;
  if (t.read_header_timeout) server.headersTimeout = t.read_header_timeout;
  // Node refuses a header timeout longer than the request timeout: the request's bounds both.
  if (server.requestTimeout > 0 && server.headersTimeout > server.requestTimeout) server.headersTimeout = server.requestTimeout;
  if (t.idle_timeout) server.keepAliveTimeout = t.idle_timeout;
  const shortest = Math.min(server.headersTimeout || Infinity, server.requestTimeout || Infinity);
  (server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(MIN_CHECK_INTERVAL_MS, Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(shortest / 4)));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Node's default answers when no listener is set, repeated (a listener replaces them all).
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (timedOut) onTimeout?.(socket);
    // No answer once the request's own response has started (it would corrupt it).
    const s = socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null };
    if (s.writable && !s._httpMessage?.headersSent) {
      const status = timedOut ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      s.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    s.destroy();
  });
}
