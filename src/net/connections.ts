// Connection exhaustion, made visible (issue 21 item 8). At the open-file limit libuv accepts and
// closes each new connection itself (its "EMFILE trick") and tells nobody: the receivers and the
// probes stopped answering and nothing was logged or counted. The guard keeps the process's
// connections below that limit, so each refusal happens here, where it is counted
// (spanmeter_connections_refused_total{server,reason}) and logged at most once a minute:
// - `max_connections`: over a port's own cap (server.maxConnections; Prometheus'
//   --web.max-connections for the metrics port, otlp.max_connections for each receiver);
// - `open_files`: the connections of all ports together would leave fewer than RESERVE_FDS
//   descriptors under the soft open-file limit (`ulimit -n`, read from /proc/self/limits). The
//   receivers stop METRICS_RESERVE connections earlier than the metrics port, so /healthz,
//   /readyz and /metrics still answer while the ingest ports are flooded;
// - `accept_failed`: accept() failed all the same (EMFILE/ENFILE when other descriptors filled the
//   table, ENOMEM...), which Node reports as a server 'error';
// - `tls_handshake`: on a TLS port, the handshake failed; plain HTTP or HTTP/2 sent to it is
//   named in the log (net/security.ts answers plain HTTP/1 with Go's 400).
import fs from 'node:fs';
import type net from 'node:net';
import type { Logger } from '../log.js';
import { warnEvery } from './warn.js';
import { isPlaintextError } from './security.js';

export const CONNECTION_REFUSALS = ['max_connections', 'open_files', 'accept_failed', 'tls_handshake'] as const;
export type ConnectionRefusal = (typeof CONNECTION_REFUSALS)[number];

/** Descriptors kept free for files, outgoing connections (remote write, OTLP push) and Node itself. */
export const RESERVE_FDS = 32;
/** Connections only the metrics port may take: the probes' share when the ingest ports are full. */
export const METRICS_RESERVE = 16;

/** The soft limit on open files (RLIMIT_NOFILE) from /proc/self/limits, or undefined (not Linux, unlimited). */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Descriptors the process has open now, or undefined where /proc is not there. */
export function openFiles(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

export interface GuardOptions {
  log: Logger;
  /** The soft open-file limit; default openFileLimit(). */
  fileLimit?: number;
  /** Descriptors open before any connection; default openFiles() now. */
  openAtStart?: number;
}

export class ConnectionGuard {
  /** Connections all ports together may hold; Infinity without a known limit. */
  readonly capacity: number;
  private open = 0;
  private readonly counts = new Map<string, number>();
  private readonly servers: string[] = [];
  private readonly warn: ReturnType<typeof warnEvery>;

  constructor(private readonly options: GuardOptions) {
    const limit = options.fileLimit ?? openFileLimit();
    const base = options.openAtStart ?? openFiles() ?? 0;
    this.capacity = limit === undefined ? Infinity : Math.max(1, limit - base - RESERVE_FDS);
    this.warn = warnEvery(options.log);
  }

  /** Connections open now on the watched ports. */
  get connections(): number {
    return this.open;
  }

  /**
   * Watches `server` (named `name` in the counter and the log): caps it at `maxConnections` (0 =
   * leave server.maxConnections as it is) and refuses connections past the open-file capacity;
   * `metrics` gets the reserve the receivers leave.
   */
  watch(server: net.Server, name: string, options: { maxConnections?: number; metrics?: boolean } = {}): void {
    // The metrics port's own cap is logged by net/limits.ts, accept errors by net/server.ts: counted here only.
    const quiet = new Set<ConnectionRefusal>(options.metrics ? ['max_connections', 'accept_failed'] : ['accept_failed']);
    if (!this.servers.includes(name)) this.servers.push(name);
    for (const reason of CONNECTION_REFUSALS) this.counts.set(`${name}\0${reason}`, this.counts.get(`${name}\0${reason}`) ?? 0);
    if (options.maxConnections && options.maxConnections > 0) server.maxConnections = options.maxConnections;
    const cap = options.metrics ? this.capacity : Math.max(1, this.capacity - METRICS_RESERVE);
    server.on('drop', (data?: { remoteAddress?: string }) =>
      this.refuse(name, 'max_connections', { max_connections: server.maxConnections, remote: data?.remoteAddress }, quiet));
    server.on('connection', (socket: net.Socket) => {
      if (this.open >= cap) {
        socket.destroy();
        this.refuse(name, 'open_files', {
          connections: this.open, open_file_limit: this.options.fileLimit ?? openFileLimit(), open_files: openFiles(), remote: socket.remoteAddress,
        });
        return;
      }
      this.open++;
      socket.once('close', () => this.open--);
    });
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.syscall === 'accept') this.refuse(name, 'accept_failed', {}, quiet);
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: { remoteAddress?: string }) =>
      this.refuse(name, 'tls_handshake', { code: err.code, remote: socket.remoteAddress }, undefined, isPlaintextError(err)
        ? 'a client sent plain HTTP or HTTP/2 to this TLS port: use https:// (OTLP exporters: the endpoint\'s scheme, or insecure: false)'
        : `TLS handshake failed (${err.code ?? err.message})`));
  }

  /** The refusals so far, one sample per watched port and reason (the counter's collect). */
  samples(): { labels: { server: string; reason: ConnectionRefusal }; value: number }[] {
    const out: { labels: { server: string; reason: ConnectionRefusal }; value: number }[] = [];
    for (const server of this.servers) {
      for (const reason of CONNECTION_REFUSALS) out.push({ labels: { server, reason }, value: this.counts.get(`${server}\0${reason}`) ?? 0 });
    }
    return out;
  }

  private refuse(name: string, reason: ConnectionRefusal, detail: Record<string, unknown>, quiet?: ReadonlySet<ConnectionRefusal>, why?: string): void {
    const key = `${name}\0${reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (quiet?.has(reason)) return;
    const hint = why ?? (reason === 'max_connections'
      ? 'the port is at its max_connections'
      : `the process is near its open-file limit (ulimit -n): ${this.capacity} connections fit; raise the limit or lower max_connections`);
    this.warn(key, { server: name, reason, ...detail }, `${name}: connection refused (${reason}): ${hint}; counted in spanmeter_connections_refused_total`);
  }
}
