// A listening server as the sidecar holds it (OTLP receivers, the metrics/page server), and
// listenHttp, which turns a node:http(s) server into one.
import type http from 'node:http';
import type https from 'node:https';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { formatHostPort, type HostPort } from './endpoint.js';
import { warnEvery } from './warn.js';
import { answerPlaintext } from './security.js';

/** A running server. */
export interface RunningServer {
  /** The address actually bound, `host:port` (IPv6 hosts in brackets); the real port when 0 was asked. */
  readonly address: string;
  /** Stops accepting, ends idle keep-alive connections, resolves when the server is closed. */
  close(): Promise<void>;
  /** The listening server (for net/connections.ts's ConnectionGuard). */
  readonly listener?: net.Server;
}

/**
 * Logs a listening server's errors: a failed accept() (EMFILE, ENFILE, ENOMEM: it repeats with
 * every connection; ConnectionGuard counts them) at most once a minute, anything else each time.
 */
export function logServerErrors(server: net.Server, name: string, log: Logger): void {
  const warn = warnEvery(log);
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall === 'accept') warn('accept', { err, code: err.code }, `${name}: accept() failed (${err.code}): connections are being refused; counted in spanmeter_connections_refused_total{reason="accept_failed"}`);
    else log.error({ err }, `${name}: server error`);
  });
}

/** Connections of the server that node:http does not hold (the OTLP/HTTP receiver's fast path). */
export interface OtherConnections {
  closeIdle(): void;
  closeAll(): void;
}

/**
 * Starts `server` listening on the endpoint and returns it as a RunningServer: its bound
 * address (the real port when 0 was asked), and a close() that stops accepting, ends idle
 * keep-alive connections, and cuts the rest after `graceMs`.
 */
export async function listenHttp(
  server: http.Server | https.Server, endpoint: HostPort, name: string, log: Logger, graceMs = 5000, others?: OtherConnections,
): Promise<RunningServer> {
  const { host, port } = endpoint;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  logServerErrors(server, name, log);
  if ('setSecureContext' in server) answerPlaintext(server);
  const bound = server.address() as AddressInfo;
  const address = formatHostPort(host ?? bound.address, bound.port);
  log.info({ address }, `${name} listening`);
  let closing: Promise<void> | undefined;
  return {
    address,
    listener: server,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          others?.closeAll();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
        others?.closeIdle();
      });
      return closing;
    },
  };
}
