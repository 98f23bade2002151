// The sidecar's own HTTP server (default 127.0.0.1:9464): GET /metrics, GET /healthz, GET /.
// /metrics concatenates the output of the renderers it is given, in order (the span metrics, then
// the sidecar's self metrics), in Prometheus text format 0.0.4. With a bearer token every path
// but the probes (/healthz, /readyz) asks for it; src/net/limits.ts bounds what clients that
// never read can hold.
import http from 'node:http';
import https from 'node:https';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { negotiate, OPENMETRICS_TEXT, PROMETHEUS_TEXT, type ExpositionFormat, type TextFormat } from './exposition.js';
import { PROMETHEUS_PROTOBUF } from './protoexposition.js';
import { listenHttp, type RunningServer } from '../net/server.js';
import { parseEndpoint } from '../net/endpoint.js';
import { defaultConfig } from '../config/defaults.js';
import { silentLogger, type Logger } from '../log.js';
import { bearerChecker, type TlsMaterial } from '../net/security.js';
import { limitedListener, type RefusalReason, type ServerLimits } from '../net/limits.js';

/**
 * Renders part of /metrics. One with `stream` (the metric families, streamFamilies) is written to
 * the response in chunks as it renders in the text formats, waiting when the reader is behind;
 * the others (and all in protobuf) are rendered whole before the answer starts.
 */
export type Renderer = ((format: ExpositionFormat) => string | Uint8Array | Promise<string | Uint8Array>) & {
  stream?: (format: TextFormat, write: (chunk: Buffer) => Promise<void> | undefined) => Promise<void>;
};

const CONTENT_TYPES: Record<ExpositionFormat, string> = { text: PROMETHEUS_TEXT, openmetrics: OPENMETRICS_TEXT, protobuf: PROMETHEUS_PROTOBUF };

/**
 * Health detail. `ok: false` answers 503; everything else is reported as JSON alongside
 * `"status": "ok" | "unhealthy"`.
 */
export interface HealthReport {
  ok: boolean;
  [detail: string]: unknown;
}

export interface MetricsServerOptions {
  /** `host:port`; port 0 binds an ephemeral port (see RunningServer.address). */
  endpoint: string;
  /** Called in order on each scrape; their texts are joined (each ends with a newline). */
  renderers: readonly Renderer[];
  /** Readiness for /readyz (200 when ready, 503 otherwise); without it /readyz answers 200. */
  ready?: () => HealthReport;
  /** Serve HTTPS (mTLS when clientCa is set). */
  tls?: TlsMaterial;
  /** Require `Authorization: Bearer <token>` on every path but /healthz and /readyz (401 otherwise). */
  bearerToken?: string;
  /** Connection, in-flight and write-time limits (src/net/limits.ts); default: config's http_limits defaults. */
  limits?: ServerLimits;
  /** Called each time a limit turns a client away (spanmeter_http_server_refused_total). */
  onRefused?: (reason: RefusalReason) => void;
  /** Optional detail for /healthz; without it /healthz answers `ok`. */
  health?: () => HealthReport | Promise<HealthReport>;
  logger?: Logger;
  /** How long close() waits for requests in flight before cutting their connections, ms. Default 5000. */
  closeGraceMs?: number;
  /**
   * The web page and its JSON API (src/ui/routes.ts): asked for /ui, /ui/*, /api/* and, from
   * browsers (Accept: text/html), /. Undefined answers 404.
   */
  routes?: (path: string, query: URLSearchParams) => Promise<RouteAnswer | undefined>;
}

/** An answer from `routes`. */
export interface RouteAnswer {
  status: number;
  contentType: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

const INDEX = `spanmeter: RED metrics and service graphs from OpenTelemetry traces

  /metrics   Prometheus metrics
  /healthz   health check
  /readyz    readiness (503 while starting or shutting down)
`;
const INDEX_WITH_UI = `${INDEX}  /ui        the web page: service graph, RED tables, health, SLOs
  /api/graph, /api/red?service=NAME, /api/health, /api/slos   its JSON
`;

/**
 * Joins renderer outputs so that each starts on its own line; OpenMetrics ends with `# EOF`;
 * protobuf messages (length-delimited) are joined as they are.
 */
export async function renderAll(renderers: readonly Renderer[], format: ExpositionFormat = 'text'): Promise<Buffer> {
  const parts = await Promise.all(renderers.map((r) => r(format)));
  const out: Uint8Array[] = [];
  for (const p of parts) {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    if (bytes.length === 0) continue;
    out.push(bytes);
    if (format !== 'protobuf' && bytes[bytes.length - 1] !== 0x0a) out.push(NEWLINE);
  }
  if (format === 'openmetrics') out.push(EOF);
  return Buffer.concat(out);
}

const NEWLINE = Buffer.from('\n');

/** The scraper went away (or write_timeout cut it) while /metrics was being written. */
class ScrapeGone extends Error {}

const toBytes = (p: string | Uint8Array): Uint8Array => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
const EOF = Buffer.from('# EOF\n');

export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningServer> {
  const { host, port } = parseEndpoint(options.endpoint);
  const log = options.logger ?? silentLogger;
  const { renderers, health } = options;

  const authorized = options.bearerToken === undefined ? undefined : bearerChecker(options.bearerToken);
  const tls = options.tls;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse, refused: boolean): void => {
    if (refused) {
      res.setHeader('Retry-After', '1');
      send(res, 503, 'text/plain; charset=utf-8', 'too many requests in flight: retry later\n', req.method === 'HEAD');
      return;
    }
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'metrics server: error while handling a request');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', req.method === 'HEAD');
      else res.destroy();
    });
  };
  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: tls.clientCa !== undefined, rejectUnauthorized: tls.clientCa !== undefined })
    : http.createServer();
  server.on('request', limitedListener(server, {
    limits: options.limits ?? defaultConfig().http_limits,
    exempt: (req) => isProbe(pathOf(req.url ?? '/')),
    handle: onRequest,
    onRefused: options.onRefused,
    log,
    name: 'metrics server',
  }));

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = pathOf(url);
    const head = req.method === 'HEAD';
    if (authorized && !isProbe(path) && !authorized(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="spanmeter"');
      send(res, 401, 'text/plain; charset=utf-8', 'unauthorized: send Authorization: Bearer <token>\n', head);
      return;
    }
    if (options.routes && (path === '/ui' || path.startsWith('/ui/') || path.startsWith('/api/') || (path === '/' && /\btext\/html\b/.test(req.headers.accept ?? '')))) {
      await route(options.routes, path, q < 0 ? '' : url.slice(q + 1), req, res);
      return;
    }
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz' && path !== '/') {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      return;
    }
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: use GET\n');
      return;
    }
    if (path === '/readyz') {
      const report = options.ready ? options.ready() : { ok: true };
      const { ok, ...detail } = report;
      const body = JSON.stringify({ status: ok ? 'ready' : 'not ready', ...detail }) + '\n';
      send(res, ok ? 200 : 503, 'application/json', body, head);
      return;
    }
    if (path === '/metrics') {
      const format = negotiate(req.headers.accept);
      const type = CONTENT_TYPES[format];
      res.setHeader('Vary', 'Accept, Accept-Encoding');
      if (head) {
        // The headers a GET would get, without rendering (its length is unknown until then).
        res.writeHead(200, { 'Content-Type': type });
        res.end();
        return;
      }
      await streamMetrics(req, res, format, type);
    } else if (path === '/healthz') {
      if (!health) {
        send(res, 200, 'text/plain; charset=utf-8', 'ok\n', head);
        return;
      }
      let report: HealthReport;
      try {
        report = await health();
      } catch (err) {
        log.warn({ err }, 'metrics server: health check failed');
        report = { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
      const { ok, ...detail } = report;
      const body = JSON.stringify({ status: ok ? 'ok' : 'unhealthy', ...detail }) + '\n';
      send(res, ok ? 200 : 503, 'application/json', body, head);
    } else {
      if (options.routes) res.setHeader('Vary', 'Accept');
      send(res, 200, 'text/plain; charset=utf-8', options.routes ? INDEX_WITH_UI : INDEX, head);
    }
  }

  /**
   * GET /metrics, written as it renders (chunked, gzip as a stream when asked): no buffer holds
   * the whole exposition, so its size cannot fail a scrape, and a reader that falls behind holds
   * up the rendering (write_timeout bounds how long) rather than memory. The renderers without
   * `stream` (spanmeter's own metrics: small) are rendered first, so that their failure still
   * answers 500; a failure once the answer has started cuts the connection.
   */
  async function streamMetrics(req: http.IncomingMessage, res: http.ServerResponse, format: ExpositionFormat, type: string): Promise<void> {
    const text = format !== 'protobuf';
    let parts: (Uint8Array | Renderer)[];
    try {
      parts = await Promise.all(renderers.map(async (r) => (r.stream && text ? r : toBytes(await r(format)))));
    } catch (err) {
      log.error({ err }, 'metrics server: rendering /metrics failed');
      send(res, 500, 'text/plain; charset=utf-8', 'rendering metrics failed\n');
      return;
    }
    const gzip = /\bgzip\b/i.test(req.headers['accept-encoding'] ?? '');
    res.writeHead(200, { 'Content-Type': type, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
    const sink: Writable = gzip ? createGzip() : res;
    if (gzip) sink.pipe(res);
    const write = (chunk: Uint8Array): Promise<void> | undefined => {
      if (res.destroyed) throw new ScrapeGone();
      if (sink.write(chunk)) return undefined;
      return new Promise<void>((resolve) => {
        const done = (): void => {
          sink.off('drain', done);
          res.off('close', done);
          resolve();
        };
        sink.on('drain', done);
        res.on('close', done);
      });
    };
    try {
      // Text: each part starts on its own line (renderAll's joining); protobuf: delimited messages, as they are.
      let last = NEWLINE[0];
      for (const p of parts) {
        if (p instanceof Uint8Array) {
          if (p.length === 0) continue;
          if (text && last !== NEWLINE[0]) await write(NEWLINE);
          await write(p);
          last = p[p.length - 1];
        } else if (format !== 'protobuf') {
          if (last !== NEWLINE[0]) await write(NEWLINE);
          await p.stream!(format, (chunk) => write(chunk));
          last = NEWLINE[0]; // streamFamilies writes whole lines
        }
      }
      if (text && last !== NEWLINE[0]) await write(NEWLINE);
      if (format === 'openmetrics') await write(EOF);
      sink.end();
    } catch (err) {
      if (!(err instanceof ScrapeGone)) log.error({ err }, 'metrics server: rendering /metrics failed after the answer started: connection cut');
      sink.destroy();
      res.destroy();
    }
  }

  async function route(routes: NonNullable<MetricsServerOptions['routes']>, path: string, query: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: use GET\n');
      return;
    }
    const answer = await routes(path, new URLSearchParams(query));
    if (!answer) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
      return;
    }
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    if (path === '/') res.setHeader('Vary', 'Accept');
    send(res, answer.status, answer.contentType, answer.body, head);
  }

  return listenHttp(server, { host, port }, 'metrics server', log, options.closeGraceMs);
}

const pathOf = (url: string): string => {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};

/** The probes: open without a token and never refused by the in-flight cap. */
const isProbe = (path: string): boolean => path === '/healthz' || path === '/readyz';

function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer, head = false): void {
  if (res.headersSent) return;
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': buf.byteLength });
  res.end(head ? undefined : buf);
}
