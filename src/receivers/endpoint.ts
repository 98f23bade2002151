import type http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger, RunningServer } from './types.js';

// `host:port` endpoints as the config writes them.

export interface HostPort {
  /** Undefined when the endpoint names no host (`:4318`): listen on every interface. */
  host: string | undefined;
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port` or `:port`. Port 0 asks for an ephemeral port.
 * Throws an Error naming the endpoint when it is not of that shape.
 */
export function parseEndpoint(endpoint: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.%a-zA-Z]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(endpoint.trim());
  if (!m) throw new Error(`invalid endpoint "${endpoint}": expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid endpoint "${endpoint}": port out of range`);
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Starts `server` listening on the endpoint and returns it as a RunningServer: its bound
 * address (the real port when 0 was asked), and a close() that stops accepting, ends idle
 * keep-alive connections, and cuts the rest after `graceMs`.
 */
export async function listenHttp(
  server: http.Server | https.Server, endpoint: HostPort, name: string, log: Logger, graceMs = 5000,
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
  server.on('error', (err) => log.error({ err }, `${name}: server error`));
  const bound = server.address() as AddressInfo;
  const address = formatHostPort(host ?? bound.address, bound.port);
  log.info({ address }, `${name} listening`);
  let closing: Promise<void> | undefined;
  return {
    address,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
