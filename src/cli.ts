// The sidecar: loads the configuration, builds the core, and runs the OTLP receivers and the
// metrics server until SIGTERM/SIGINT. `spanmeter rules ...` prints the SLO rules instead (src/rules/).
import { loadConfig } from './config/load.js';
import { ConfigError } from './config/errors.js';
import type { Config } from './config/types.js';
import { serviceGraphsOn } from './config/types.js';
import { createLogger, type Logger } from './log.js';
import { SupervisedCore } from './core/supervisor.js';
import { coreOptions } from './core/index.js';
import { IngestBudget } from './receivers/budget.js';
import { loadBearerToken, loadTls } from './net/security.js';
import { ConnectionGuard } from './net/connections.js';
import { availableMemory, memoryLimits, MemoryLimiter, OldGenerationTrim } from './net/memory.js';
import { configuredCatalog } from './exporters/catalog.js';
import { renderFamilies, streamFamilies, type ExpositionFormat } from './exporters/exposition.js';
import { startMetricsServer } from './exporters/server.js';
import { startHttpReceiver } from './receivers/http.js';
import { startGrpcReceiver } from './receivers/grpc.js';
import type { RunningServer } from './net/server.js';
import { Telemetry } from './telemetry.js';
import { UiApi, telemetryCounters } from './ui/api.js';
import { unusedDimensionWarning } from './ui/semconv.js';
import { cardinalityApi, cardinalityLimits, spanMetricsLabelWords, watchCardinality } from './ui/cardinality.js';
import { uiRoutes } from './ui/routes.js';
import type { Demo } from './ui/demo.js';
import { packageVersion } from './version.js';

/** How often waiting service-graph entries are expired and stale series removed. */
const MAINTENANCE_INTERVAL_MS = 1000;
/** Configured span-metrics dimensions that no span carried are logged once, this long after start. */
const UNUSED_DIMENSIONS_LOG_MS = 60_000;
/** At most one log line this often while the series limit keeps folding label sets into overflow. */
const LIMIT_LOG_INTERVAL_MS = 60_000;

async function run(config: Config, demo = false): Promise<void> {
  const log = createLogger(config.log_level);
  const serviceGraphs = serviceGraphsOn(config.processors) ? config.processor.service_graphs : undefined;
  // TLS material and tokens are read first: a missing file stops the start with its key named.
  const otlpTls = loadTls(config.otlp.tls, 'otlp.tls');
  const httpTls = loadTls(config.tls, 'tls');
  const otlpToken = loadBearerToken(config.otlp.auth, 'otlp.auth');
  const metricsToken = loadBearerToken(config.http_auth, 'http_auth');
  // The core runs supervised: a trap rebuilds it (src/core/supervisor.ts); everything else holds
  // `core`, a view that always reaches the current instance.
  const supervisor = await SupervisedCore.create(coreOptions(config), log);
  const core = supervisor.view;
  const budget = new IngestBudget({ maxBytes: config.otlp.max_inflight_bytes, maxRequests: config.otlp.max_inflight_requests });
  const memory = startMemoryLimiter(config, log);
  // Old-generation garbage collected every 2 MiB rather than V8's 8 (peak RSS under load).
  const trim = new OldGenerationTrim().start();
  const catalog = configuredCatalog(core, config);
  const families = catalog.families;
  const maxActive = config.registry.max_active_series;
  let limitedLogged = 0;
  let lastLimitLog = -Infinity;
  const startedAt = Date.now();
  let dimensionsLogged = false;
  const telemetry = new Telemetry();
  const spanMetrics = config.processors.includes('span-metrics') ? config.processor.span_metrics : undefined;
  const labelWords = spanMetrics ? spanMetricsLabelWords(spanMetrics, config.naming) : [];
  const checkCardinality = watchCardinality({ core, words: labelWords, registry: config.registry, telemetry, log });
  const maintenance = setInterval(() => {
    const now = Date.now();
    checkCardinality();
    if (!dimensionsLogged && now - startedAt >= UNUSED_DIMENSIONS_LOG_MS && core.activeSeries() > 0) {
      dimensionsLogged = true;
      for (const dimension of ui.unusedDimensions()) log.warn({ dimension }, unusedDimensionWarning(dimension));
    }
    supervisor.run('expire', (c) => c.expire(now));
    supervisor.run('sweep', (c) => c.sweep(now));
    const limited = core.seriesLimited();
    if (limited > limitedLogged && now - lastLimitLog >= LIMIT_LOG_INTERVAL_MS) {
      const { series_demand_estimate, labels, held_back_services, fixes } = cardinalityLimits(core, labelWords, config.registry);
      log.warn(
        {
          max_active_series: maxActive, active_series: core.activeSeries(), limited_since_last_log: limited - limitedLogged,
          series_demand_estimate, top_labels: labels.slice(0, 3), held_back_services: held_back_services.slice(0, 3), fixes,
        },
        'series limit reached: new label sets are counted in the metric_overflow="true" series, not on their own; raise registry.max_active_series (0 = unlimited) if they are wanted' +
          (labels[0] ? `; the traffic would make about ${series_demand_estimate} series, most distinct values in label ${labels[0].label} (${labels[0].estimate}${labels[0].example !== undefined ? `, e.g. ${JSON.stringify(labels[0].example)}` : ''}); fix: ${fixes[0] ?? ''}` : ''),
      );
      limitedLogged = limited;
      lastLimitLog = now;
    }
  }, MAINTENANCE_INTERVAL_MS);

  telemetry.addGauge({
    name: 'spanmeter_active_series',
    help: 'Active series held by the core, counted as Prometheus counts them (a histogram costs its buckets + 2).',
    collect: () => core.activeSeries(),
  });
  telemetry.addGauge({
    name: 'spanmeter_max_active_series',
    help: 'The configured registry.max_active_series (0 = unlimited).',
    collect: () => maxActive,
  });
  telemetry.addCounter({
    name: 'spanmeter_series_limited_total',
    help: 'New label sets folded into a metric_overflow series because max_active_series was reached.',
    collect: () => core.seriesLimited(),
  });
  telemetry.addCounter({
    name: 'spanmeter_series_removed_total',
    help: 'Series removed after stale_duration without an update.',
    collect: () => core.seriesRemoved(),
  });
  telemetry.addCounter({
    name: 'spanmeter_spans_dropped_total',
    help: 'Spans accepted but left out of the metrics, by reason.',
    labelNames: ['reason'],
    collect: () => [{ labels: { reason: 'outside_ingestion_slack' }, value: core.lateSpans() }],
  });
  telemetry.addCounter({
    name: 'spanmeter_spans_filtered_total',
    help: "Spans a processor's filter_policies left out, by processor.",
    labelNames: ['processor'],
    collect: () => [
      { labels: { processor: 'span-metrics' }, value: core.spansFiltered('span-metrics') },
      { labels: { processor: 'service-graphs' }, value: core.spansFiltered('service-graphs') },
    ],
  });
  telemetry.addGauge({
    name: 'spanmeter_label_value_bytes',
    help: 'Bytes of distinct label values held by the core.',
    collect: () => core.stringBytes(),
  });
  telemetry.addGauge({
    name: 'spanmeter_edge_store_size',
    help: 'Service-graph spans waiting for their other side.',
    collect: () => core.edgeStoreSize(),
  });
  telemetry.addCounter({
    name: 'spanmeter_expired_edges_total',
    help: 'Service-graph entries whose other side did not arrive within wait, by the span kind that waited.',
    labelNames: ['side'],
    collect: () => [
      { labels: { side: 'client' }, value: core.expiredEdges('client') },
      { labels: { side: 'server' }, value: core.expiredEdges('server') },
    ],
  });
  const selfTime = core.options.selfTime;
  if (selfTime) {
    // The self-time store (processor.span_metrics.self_time), as the edge store's figures above.
    telemetry.addGauge({
      name: 'spanmeter_self_time_store_size',
      help: 'Self-time entries in use: spans waiting for their children, tombstones, parents awaited by a child.',
      collect: () => core.selfTimeStore().size,
    });
    telemetry.addGauge({
      name: 'spanmeter_self_time_store_max_items',
      help: 'The configured processor.span_metrics.self_time_max_items.',
      collect: () => selfTime.maxItems,
    });
    telemetry.addCounter({
      name: 'spanmeter_self_time_dropped_total',
      help: 'Spans and children the self-time store refused, full (their spans are counted in the self-time unknown counter).',
      collect: () => core.selfTimeStore().dropped,
    });
    telemetry.addCounter({
      name: 'spanmeter_self_time_orphans_total',
      help: 'Self-time entries made by children whose parent never came within wait (sampled out, another instance, or late).',
      collect: () => core.selfTimeStore().orphans,
    });
  }
  telemetry.addGauge({
    name: 'spanmeter_ingest_inflight_bytes',
    help: 'Bytes of OTLP request bodies being received or handled (bounded by otlp.max_inflight_bytes).',
    collect: () => budget.inflightBytes,
  });
  telemetry.addGauge({
    name: 'spanmeter_ingest_inflight_requests',
    help: 'OTLP requests being received or handled (bounded by otlp.max_inflight_requests).',
    collect: () => budget.inflightRequests,
  });
  telemetry.addCounter({
    name: 'spanmeter_core_restarts_total',
    help: 'Times the core failed (a WASM trap) and was rebuilt; its aggregated state was lost each time.',
    collect: () => supervisor.restarts(),
  });
  telemetry.addCounter({
    name: 'spanmeter_core_lost_series_total',
    help: 'Active series dropped with failed core instances.',
    collect: () => supervisor.lostSeries(),
  });
  if (memory) addMemoryMetrics(telemetry, memory);
  telemetry.addGauge({
    name: 'spanmeter_wasm_memory_bytes',
    help: 'Linear memory of the WASM core.',
    collect: () => core.memoryBytes(),
  });

  // The web page and its JSON API: they read the core only while someone looks (src/ui/api.ts).
  const ui = new UiApi({
    core, catalog, maxActiveSeries: maxActive, maxItems: serviceGraphs?.max_items,
    selfCounters: telemetryCounters(telemetry.registry), traceUrl: config.ui.trace_url,
  });

  // Connections of all three ports stay under the open-file limit, refusals counted (issue 21 item 8).
  const connections = new ConnectionGuard({ log });
  telemetry.addCounter({
    name: 'spanmeter_connections_refused_total',
    help: 'Connections closed on arrival, by server (otlp_http, otlp_grpc, metrics) and reason: max_connections (over the port\'s max_connections), open_files (the process is near its open-file limit, ulimit -n; the OTLP ports stop 16 connections before the metrics port), accept_failed (accept() failed: EMFILE, ENFILE, ENOMEM), tls_handshake (a TLS port\'s handshake failed, e.g. plain HTTP sent to it).',
    labelNames: ['server', 'reason'],
    collect: () => connections.samples(),
  });
  const servers: RunningServer[] = [];
  let receiversUp = false;
  let stopping = false;
  // Signals are taken from before the first receiver listens: one that comes while the rest
  // starts (the gRPC receiver, the push exporters' lazy import) waits for the start to finish and
  // then stops as usual, flushing what was accepted, instead of Node's default of dying at once.
  let stop: ((signal: string) => void) | undefined;
  let stopRequested: string | undefined;
  const onSignal = (signal: string) => (stop ? stop(signal) : (stopRequested ??= signal));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const receiverOptions = { budget, memory, tls: otlpTls, bearerToken: otlpToken, limits: config.otlp };
  const maxBodyBytes = config.otlp.max_request_body_size;
  const metrics = await startMetricsServer({
    endpoint: config.http_endpoint,
    routes: uiRoutes(ui, { cardinality: cardinalityApi({ core, spanMetrics, words: labelWords, registry: config.registry }) }),
    // The families stream in the text formats (written as they render); the self metrics are rendered whole, first.
    renderers: [
      Object.assign((format: ExpositionFormat) => renderFamilies(families, format), { stream: streamFamilies.bind(null, families) }),
      (format) => (format === 'protobuf' ? telemetry.renderProto() : telemetry.render(format)),
    ],
    tls: httpTls,
    bearerToken: metricsToken,
    limits: config.http_limits,
    onRefused: (reason) => telemetry.countHttpRefused(reason),
    ready: () => ({
      ok: receiversUp && !stopping && !supervisor.isRebuilding() && memory?.refusing === undefined && !budget.full,
      receivers: receiversUp ? 'up' : 'starting',
      ...(memory?.refusing !== undefined ? { memory: `refusing data: ${memory.refusing}` } : {}),
      ...(stopping ? { shutting_down: true } : {}),
      ...(supervisor.isRebuilding() ? { core: 'rebuilding' } : {}),
      // Not ready while the ingest budget is full (new requests get 429 / UNAVAILABLE); the
      // timeouts reclaim budget held by stalled senders (issue 21 item 3).
      ...(budget.full ? { ingest_budget: `full: ${budget.inflightRequests} requests, ${budget.inflightBytes} bytes in flight` } : {}),
    }),
    health: () => ({
      ok: true,
      core_restarts: supervisor.restarts(),
      core_lost_series: supervisor.lostSeries(),
      ...(supervisor.lastFailure() ? { core_last_failure: supervisor.lastFailure() } : {}),
      active_series: core.activeSeries(),
      max_active_series: maxActive,
      series_limit: maxActive === 0
        ? 'unlimited'
        : core.seriesLimited() > 0
          ? `reached: ${core.seriesLimited()} new label sets went to metric_overflow="true"`
          : 'not reached',
      ...(core.seriesLimited() > 0 ? { series_demand_estimate: Math.round(core.seriesDemand()) } : {}),
      edge_store_size: core.edgeStoreSize(),
      ...(selfTime ? { self_time_store_size: core.selfTimeStore().size } : {}),
      wasm_memory_bytes: core.memoryBytes(),
      ...(memory ? { memory_used_bytes: memory.last.used, memory_soft_limit_bytes: memory.soft, memory_hard_limit_bytes: memory.hard } : {}),
    }),
    logger: log,
  });
  servers.push(metrics);
  if (metrics.listener) connections.watch(metrics.listener, 'metrics', { metrics: true });
  const addresses: Record<string, string> = { metrics: metrics.address };
  if (config.otlp.http_endpoint !== '') {
    const s = await startHttpReceiver({ endpoint: config.otlp.http_endpoint, maxBodyBytes, consumer: supervisor, logger: log, telemetry, ...receiverOptions, maxDecompressionRatio: config.otlp.max_decompression_ratio });
    servers.push(s);
    if (s.listener) connections.watch(s.listener, 'otlp_http', { maxConnections: config.otlp.max_connections });
    addresses.otlp_http = s.address;
  }
  if (config.otlp.grpc_endpoint !== '') {
    const s = await startGrpcReceiver({ endpoint: config.otlp.grpc_endpoint, maxBodyBytes, consumer: supervisor, logger: log, telemetry, ...receiverOptions });
    servers.push(s);
    if (s.listener) connections.watch(s.listener, 'otlp_grpc', { maxConnections: config.otlp.max_connections });
    addresses.otlp_grpc = s.address;
  }
  receiversUp = true;
  // Remote write and OTLP metrics push: started once /metrics is up (its port names the default instance).
  // Loaded only when configured: remote write and OTLP push bring protobufjs and grpc-js (some
  // 10 MB of resident memory a sidecar without them does not need).
  const pushers = config.remote_write.length === 0 && config.otlp_metrics.endpoint === ''
    ? undefined
    : (await import('./exporters/push.js')).startPushExporters({
      config,
      families,
      httpPort: Number(metrics.address.slice(metrics.address.lastIndexOf(':') + 1)),
      version: packageVersion(),
      logger: log,
      telemetry,
    });
  // Wildcard binds are reached on loopback from this machine: the addresses to print and use.
  const local = (a: string) => a.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
  const scheme = httpTls ? 'https' : 'http';
  const page = `${scheme}://${local(metrics.address)}/`;
  log.info(
    { version: packageVersion(), ...addresses, page, processors: config.processors, max_request_body_size: maxBodyBytes },
    `spanmeter listening: OTLP/HTTP ${addresses.otlp_http ?? 'off'}, OTLP/gRPC ${addresses.otlp_grpc ?? 'off'}, metrics ${scheme}://${metrics.address}/metrics, web page ${page}; processors ${config.processors.join(', ')}`,
  );
  let demoFeed: Demo | undefined;
  if (demo) {
    if (!addresses.otlp_http) throw new Error('--demo sends its traces to the OTLP/HTTP receiver: leave otlp.http_endpoint on');
    demoFeed = await (await import('./ui/demo.js')).startDemo({ url: `http://${local(addresses.otlp_http)}/v1/traces`, logger: log });
    log.info({ page }, 'demo: synthetic traces are flowing to the OTLP/HTTP receiver');
    process.stdout.write(
      `\nspanmeter --demo: open ${page} in a browser to see the service graph (Ctrl-C stops).\n` +
        'The shop is a recorded loop of about 30 s: the traces it cuts at its end leave about 100 spans per\n' +
        'loop without their other side, which the page counts as unpaired (as it would spans of an\n' +
        'uninstrumented or lost peer).\n\n',
    );
  }

  stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'spanmeter stopping');
    clearInterval(maintenance);
    memory?.stop();
    trim.stop();
    // Whatever still hangs (a slow remote-write endpoint, a client holding a connection) does
    // not keep the process past shutdown_timeout.
    setTimeout(() => {
      log.error({ shutdown_timeout_ms: config.shutdown_timeout }, 'shutdown did not finish in time: exiting');
      process.exit(1);
    }, config.shutdown_timeout).unref();
    // Receivers first, then every waiting service-graph entry is decided, then the push exporters
    // send one last collection (bounded by a deadline), then the metrics server.
    const metricsServer = servers[0]!; // pushed first, above
    const receivers = servers.slice(1);
    (demoFeed ? demoFeed.stop() : Promise.resolve())
      .then(() => Promise.all(receivers.map((s) => s.close())))
      .then(() => core.expire(Infinity))
      .then(() => pushers?.stop())
      .then(() => metricsServer.close())
      .then(
      () => {
        log.info({ signal }, 'spanmeter stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  if (stopRequested) stop(stopRequested);
}

/** The memory limiter as configured (memory_limiter), started; undefined when check_interval is 0. */
function startMemoryLimiter(config: Config, log: Logger): MemoryLimiter | undefined {
  const c = config.memory_limiter;
  if (c.check_interval === 0) return undefined;
  const available = availableMemory();
  const { soft, hard } = memoryLimits(c, available);
  log.info(
    { soft_limit_mib: Math.round(soft / 2 ** 20), hard_limit_mib: Math.round(hard / 2 ** 20), check_interval_ms: c.check_interval, available_mib: Math.round(available.bytes / 2 ** 20), available_from: available.source },
    'memory limiter configured',
  );
  return new MemoryLimiter({ soft, hard, checkIntervalMs: c.check_interval, log }).start();
}

function addMemoryMetrics(telemetry: Telemetry, memory: MemoryLimiter): void {
  telemetry.addGauge({
    name: 'spanmeter_memory_limit_bytes',
    help: 'The memory limiter\'s limits (memory_limiter): data is refused above the soft one, a GC forced above the hard one.',
    labelNames: ['limit'],
    collect: () => [{ labels: { limit: 'soft' }, value: memory.soft }, { labels: { limit: 'hard' }, value: memory.hard }],
  });
  telemetry.addGauge({
    name: 'spanmeter_memory_used_bytes',
    help: 'Memory the limiter measured at its last check: JS heap in use plus external (Buffers, WASM memory).',
    collect: () => memory.last.used,
  });
  telemetry.addGauge({
    name: 'spanmeter_memory_limiter_refusing',
    help: '1 while the memory limiter refuses OTLP data (memory above the soft limit), else 0.',
    collect: () => (memory.refusing === undefined ? 0 : 1),
  });
  telemetry.addCounter({
    name: 'spanmeter_memory_limiter_refused_total',
    help: 'OTLP requests the memory limiter refused (HTTP 429 / gRPC UNAVAILABLE, with a retry delay).',
    collect: () => memory.refused,
  });
  telemetry.addCounter({
    name: 'spanmeter_memory_limiter_forced_gc_total',
    help: 'Garbage collections the memory limiter forced.',
    collect: () => memory.forcedGcs,
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === 'cardinality') {
    // Subcommands, --help, --print-config and listen errors load their modules only when used:
    // what the running sidecar loads stays resident (issue 20: its RSS).
    const { cardinalityCommand } = await import('./ui/cardinality-command.js');
    const result = await cardinalityCommand(process.argv.slice(3), process.env);
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.code;
    return;
  }
  if (process.argv[2] === 'rules') {
    const { rulesCommand } = await import('./rules/command.js');
    const result = rulesCommand(process.argv.slice(3), process.env, packageVersion());
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.code;
    return;
  }
  let loaded;
  try {
    loaded = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (loaded.action === 'help') {
    process.stdout.write((await import('./config/help.js')).helpText());
    return;
  }
  if (loaded.action === 'version') {
    process.stdout.write(`spanmeter ${packageVersion()}\n`);
    return;
  }
  // Warnings go to the JSON log with everything else (issue 18 item 8); to stderr when stdout
  // carries the printed config.
  const warnLog = loaded.printConfig || loaded.warnings.length === 0 ? undefined : createLogger(loaded.config.log_level);
  for (const w of loaded.warnings) {
    if (warnLog) warnLog.warn({ config_warning: w }, `config warning: ${w}`);
    else process.stderr.write(`config warning: ${w}\n`);
  }
  if (loaded.demo) {
    for (const p of ['span-metrics', 'service-graphs'] as const) if (!loaded.config.processors.includes(p)) loaded.config.processors.push(p);
    if (loaded.config.slos.length === 0) loaded.config.slos = [...(await import('./ui/demo.js')).DEMO_SLOS];
  }
  if (loaded.printConfig) {
    process.stdout.write((await import('./config/print.js')).printConfig(loaded.config));
    return;
  }
  try {
    await run(loaded.config, loaded.demo);
  } catch (err) {
    // A file the config names that cannot be used is a config error too: status 2.
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    const explained = (await import('./config/inuse.js')).explainListenError(err, loaded.config, loaded.demo);
    if (explained === undefined) throw err;
    process.stderr.write(explained);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`spanmeter: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
