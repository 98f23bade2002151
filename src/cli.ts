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
import { startMetricsServer } from './exporters/server.js';
import { startHttpReceiver } from './receivers/http.js';
import { startGrpcReceiver } from './receivers/grpc.js';
import type { RunningServer } from './receivers/types.js';
import { Telemetry } from './telemetry.js';

function packageVersion(): string {
  const pkg = new URL(import.meta.url.includes('/dist/src/') ? '../../package.json' : '../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** Checks what the configuration asks for but this build cannot do yet, naming the key. */
function unsupported(config: Config): string | undefined {
  if (config.processors.includes('service-graphs')) {
    return 'processors: service-graphs is not available in this version (span-metrics is)';
  }
  return undefined;
}

async function run(config: Config): Promise<void> {
  const log = createLogger(config.log_level);
  const spanMetrics = config.processors.includes('span-metrics') ? config.processor.span_metrics : undefined;
  const core = await Core.create({ spanMetrics });
  const exposition = spanMetrics ? new SpanMetricsExposition(core, spanMetrics) : undefined;

  const telemetry = new Telemetry();
  telemetry.addGauge({
    name: 'spanmeter_active_series',
    help: 'Series held by the core, by processor metric family.',
    labelNames: ['processor'],
    collect: () => [{ labels: { processor: 'span-metrics' }, value: core.spanMetrics()?.used ?? 0 }],
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
    renderers: [() => exposition?.render() ?? '', () => telemetry.render()],
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
    Promise.all(servers.map((s) => s.close())).then(
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
  const problem = unsupported(loaded.config);
  if (problem) {
    process.stderr.write(`config error: ${problem}\n`);
    process.exit(2);
  }
  for (const w of loaded.warnings) process.stderr.write(`config warning: ${w}\n`);
  await run(loaded.config);
}

main().catch((err: unknown) => {
  process.stderr.write(`spanmeter: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
