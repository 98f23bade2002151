// Limits of the metrics/page server against clients that ask and never read (issue 21 item 1).
// Modelled on Go's net/http as Prometheus and client_golang run it: requests on one connection
// are handled one at a time (Node parses a whole pipelined burst at once and would render every
// answer into memory), a response must be written within a write timeout or the connection is
// cut, requests being answered are capped across connections (client_golang's
// MaxRequestsInFlight: 503 past it), and so are connections (Prometheus' --web.max-connections).
import type http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { HttpLimitsConfig } from '../config/types.js';
import { applyHttpTimeouts } from './timeouts.js';
import { warnEvery } from './warn.js';

/** The limits, as config's http_limits gives them (each 0 = off; absent timeouts: Node's defaults). */
export type ServerLimits = Omit<HttpLimitsConfig, 'read_header_timeout' | 'idle_timeout'> & Partial<Pick<HttpLimitsConfig, 'read_header_timeout' | 'idle_timeout'>>;

/**
 * Requests a connection may have waiting behind the one being answered (HTTP/1.1 pipelining);
 * one more closes the connection. Browsers and Prometheus do not pipeline.
 */
export const MAX_PIPELINED_REQUESTS = 8;

/** Why the server turned a client away (the `reason` of spanmeter_http_server_refused_total). */
export const REFUSAL_REASONS = ['connections', 'in_flight', 'pipelined', 'write_timeout', 'read_timeout'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface LimitOptions {
  limits: ServerLimits;
  /** Requests the in-flight cap never refuses (the probes: small answers, must keep answering). */
  exempt: (req: http.IncomingMessage) => boolean;
  /** Answers the request (`refused`: the in-flight cap is reached; answer 503 without work). */
  handle: (req: http.IncomingMessage, res: http.ServerResponse, refused: boolean) => void;
  /** Called on each refusal (a counter). */
  onRefused?: (reason: RefusalReason) => void;
  log: Logger;
  name: string;
}

interface Connection {
  busy: boolean;
  queue: [http.IncomingMessage, http.ServerResponse][];
}

/** Applies the limits to `server` and returns its request listener. */
export function limitedListener(server: http.Server | https.Server, options: LimitOptions): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { limits, exempt, handle, log, name } = options;
  const warn = warnEvery(log);
  const refuse = (reason: RefusalReason, detail: Record<string, unknown>): void => {
    options.onRefused?.(reason);
    warn(reason, { reason, ...detail }, `${name}: client turned away (${reason})`);
  };
  // Headers within read_header_timeout (408 otherwise), idle keep-alive connections closed after idle_timeout.
  applyHttpTimeouts(server, { read_header_timeout: limits.read_header_timeout, idle_timeout: limits.idle_timeout }, (socket) =>
    refuse('read_timeout', { read_header_timeout_ms: server.headersTimeout, remote: (socket as Socket).remoteAddress }));
  if (limits.max_connections > 0) {
    server.maxConnections = limits.max_connections;
    server.on('drop', (data?: { remoteAddress?: string }) => refuse('connections', { max_connections: limits.max_connections, remote: data?.remoteAddress }));
  }
  const connections = new WeakMap<Socket, Connection>();
  let inFlight = 0;

  const start = (conn: Connection, req: http.IncomingMessage, res: http.ServerResponse): void => {
    conn.busy = true;
    const socket = req.socket;
    const counted = !exempt(req);
    const refused = counted && limits.max_requests_in_flight > 0 && inFlight >= limits.max_requests_in_flight;
    if (refused) refuse('in_flight', { max_requests_in_flight: limits.max_requests_in_flight, path: req.url });
    const admitted = counted && !refused;
    if (admitted) inFlight++;
    const timer = limits.write_timeout > 0
      ? setTimeout(() => {
        refuse('write_timeout', { write_timeout_ms: limits.write_timeout, path: req.url });
        socket.destroy();
      }, limits.write_timeout)
      : undefined;
    timer?.unref();
    res.once('close', () => {
      clearTimeout(timer);
      if (admitted) inFlight--;
      conn.busy = false;
      if (socket.destroyed) {
        conn.queue.length = 0;
        return;
      }
      const next = conn.queue.shift();
      if (next) start(conn, next[0], next[1]);
    });
    handle(req, res, refused);
  };

  return (req, res) => {
    // Node goes on parsing the rest of a burst after its connection was cut: drop those.
    if (req.socket.destroyed) return;
    let conn = connections.get(req.socket);
    if (!conn) {
      conn = { busy: false, queue: [] };
      connections.set(req.socket, conn);
    }
    if (!conn.busy) {
      start(conn, req, res);
      return;
    }
    if (conn.queue.length >= MAX_PIPELINED_REQUESTS) {
      refuse('pipelined', { max_pipelined_requests: MAX_PIPELINED_REQUESTS });
      conn.queue.length = 0;
      req.socket.destroy();
      return;
    }
    conn.queue.push([req, res]);
  };
}
