// The sidecar: loads the configuration, builds the core, and runs the OTLP receivers and the
// metrics server until SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { loadConfig } from './config/load.js';
import { ConfigError } from './config/errors.js';
import { helpText } from './config/help.js';
import type { Config } from './config/types.js';
import { createLogger } from './log.js';
import { Core } from './core/index.js';
import { SpanMetricsExposition } from './exporters/spanmetrics.js';
import { ServiceGraphsExposition } from './exporters/servicegraphs.js';
import { startMetricsServer } from './exporters/server.js';
import { startHttpReceiver } from './receivers/http.js';
import { startGrpcReceiver } from './receivers/grpc.js';
import type { RunningServer } from './receivers/types.js';
import { Telemetry } from './telemetry.js';

function packageVersion(): string {
  const pkg = new URL(import.meta.url.includes('/dist/src/') ? '../../package.json' : '../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** How often waiting service-graph entries are checked for expiry. */
const EXPIRY_INTERVAL_MS = 1000;

async function run(config: Config): Promise<void> {
  const log = createLogger(config.log_level);
  const spanMetrics = config.processors.includes('span-metrics') ? config.processor.span_metrics : undefined;
  const serviceGraphs = config.processors.includes('service-graphs') ? config.processor.service_graphs : undefined;
  const core = await Core.create({ spanMetrics, serviceGraphs });
  const expositions = [
    ...(spanMetrics ? [new SpanMetricsExposition(core, spanMetrics)] : []),
    ...(serviceGraphs ? [new ServiceGraphsExposition(core, serviceGraphs)] : []),
  ];
  const expiry = serviceGraphs ? setInterval(() => core.expire(Date.now()), EXPIRY_INTERVAL_MS) : undefined;

  const telemetry = new Telemetry();
  telemetry.addGauge({
    name: 'spanmeter_active_series',
    help: 'Label sets held by the core, by processor.',
    labelNames: ['processor'],
    collect: () => [
      { labels: { processor: 'span-metrics' }, value: core.table('spanMetrics')?.used ?? 0 },
      { labels: { processor: 'service-graphs' }, value: core.table('edges')?.used ?? 0 },
    ],
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
  telemetry.addGauge({
    name: 'spanmeter_wasm_memory_bytes',
    help: 'Linear memory of the WASM core.',
    collect: () => core.memoryBytes(),
  });

  const servers: RunningServer[] = [];
  const maxBodyBytes = config.otlp.max_request_body_size;
  const metrics = await startMetricsServer({
    endpoint: config.http_endpoint,
    renderers: [...expositions.map((e) => () => e.render()), () => telemetry.render()],
    logger: log,
  });
  servers.push(metrics);
  const addresses: Record<string, string> = { metrics: metrics.address };
  if (config.otlp.http_endpoint !== '') {
    const s = await startHttpReceiver({ endpoint: config.otlp.http_endpoint, maxBodyBytes, consumer: core, logger: log, telemetry });
    servers.push(s);
    addresses.otlp_http = s.address;
  }
  if (config.otlp.grpc_endpoint !== '') {
    const s = await startGrpcReceiver({ endpoint: config.otlp.grpc_endpoint, maxBodyBytes, consumer: core, logger: log, telemetry });
    servers.push(s);
    addresses.otlp_grpc = s.address;
  }
  log.info(
    { version: packageVersion(), ...addresses, processors: config.processors, max_request_body_size: maxBodyBytes },
    `spanmeter listening: OTLP/HTTP ${addresses.otlp_http ?? 'off'}, OTLP/gRPC ${addresses.otlp_grpc ?? 'off'}, metrics http://${metrics.address}/metrics; processors ${config.processors.join(', ')}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'spanmeter stopping');
    clearInterval(expiry);
    // Receivers first, then every waiting service-graph entry is decided, then the metrics server.
    const [metricsServer, ...receivers] = servers;
    Promise.all(receivers.map((s) => s.close()))
      .then(() => core.expire(Infinity))
      .then(() => metricsServer.close())
      .then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(): Promise<void> {
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
    process.stdout.write(helpText());
    return;
  }
  if (loaded.action === 'version') {
    process.stdout.write(`spanmeter ${packageVersion()}\n`);
    return;
  }
  for (const w of loaded.warnings) process.stderr.write(`config warning: ${w}\n`);
  await run(loaded.config);
}

main().catch((err: unknown) => {
  process.stderr.write(`spanmeter: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
