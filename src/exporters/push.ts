// The push exporters the sidecar runs from its configuration: one RemoteWriter per remote_write
// entry and the OTLP metrics pusher, with their self metrics (spanmeter_remote_write_*,
// spanmeter_otlp_metrics_*). /metrics is not touched: the external labels and `instance` only
// go to pushed series.
import { hostname } from 'node:os';
import type { Config } from '../config/types.js';
import type { Telemetry } from '../telemetry.js';
import type { Logger } from '../log.js';
import type { Family } from './families.js';
import { DROP_REASONS } from './delivery.js';
import { RemoteWriter } from './remotewrite.js';
import { OtlpMetricsPusher } from './otlpmetrics.js';

/** How long SIGTERM waits for the last collection to be sent, at most. */
export const FLUSH_TIMEOUT_MS = 10_000;

export interface PushExporterOptions {
  config: Pick<Config, 'remote_write' | 'collection_interval' | 'external_labels' | 'instance' | 'otlp_metrics'>;
  families: readonly Family[];
  /** The port /metrics is served on (for the default instance, `<hostname>:<port>`). */
  httpPort: number;
  version: string;
  logger: Logger;
  telemetry?: Telemetry;
  /** Process start, epoch ms (the start time of cumulative OTLP series). */
  startMs?: number;
}

export interface PushExporters {
  readonly remoteWriters: readonly RemoteWriter[];
  readonly otlp: OtlpMetricsPusher | undefined;
  /** The `instance` label / service.instance.id in use. */
  readonly instance: string;
  /** Stops the timers, sends one last collection, waits for delivery until `deadlineMs` (epoch ms). */
  stop(deadlineMs?: number): Promise<void>;
}

/** `instance` as configured, or `<hostname>:<http port>`. */
export function resolveInstance(configured: string, httpPort: number): string {
  return configured !== '' ? configured : `${hostname()}:${httpPort}`;
}

export function startPushExporters(options: PushExporterOptions): PushExporters {
  const { config, families, logger: log } = options;
  const instance = resolveInstance(config.instance, options.httpPort);
  const userAgent = `spanmeter/${options.version}`;
  const extraLabels = { ...config.external_labels, instance };

  const remoteWriters = config.remote_write.map((rw) => new RemoteWriter({
    url: rw.url,
    headers: rw.headers,
    timeoutMs: rw.timeout,
    userAgent,
    families,
    extraLabels,
    sendExemplars: rw.send_exemplars,
    logger: log,
  }));
  for (const w of remoteWriters) w.start(config.collection_interval);

  const om = config.otlp_metrics;
  const otlp = om.endpoint === ''
    ? undefined
    : new OtlpMetricsPusher({
      endpoint: om.endpoint,
      protocol: om.protocol,
      headers: om.headers,
      userAgent,
      families,
      temporality: om.temporality,
      resource: { 'service.name': 'spanmeter', 'service.instance.id': instance, ...config.external_labels },
      scope: { name: 'spanmeter', version: options.version },
      startMs: options.startMs ?? Date.now() - process.uptime() * 1000,
      logger: log,
    });
  otlp?.start(om.interval);

  if (options.telemetry) registerTelemetry(options.telemetry, remoteWriters, otlp);
  if (remoteWriters.length > 0 || otlp) {
    log.info(
      {
        remote_write: remoteWriters.map((w) => w.url),
        collection_interval_ms: config.collection_interval,
        otlp_metrics: otlp ? { endpoint: otlp.endpoint, protocol: om.protocol, temporality: om.temporality, interval_ms: om.interval } : 'off',
        instance,
        external_labels: config.external_labels,
      },
      'push exporters started',
    );
  }

  let stopping: Promise<void> | undefined;
  return {
    remoteWriters,
    otlp,
    instance,
    stop(deadlineMs = Date.now() + FLUSH_TIMEOUT_MS) {
      stopping ??= Promise.all([
        ...remoteWriters.map((w) => w.stop(deadlineMs)),
        ...(otlp ? [otlp.stop(deadlineMs)] : []),
      ]).then(() => undefined);
      return stopping;
    },
  };
}

function registerTelemetry(telemetry: Telemetry, writers: readonly RemoteWriter[], otlp: OtlpMetricsPusher | undefined): void {
  if (writers.length > 0) {
    telemetry.addCounter({
      name: 'spanmeter_remote_write_samples_sent_total',
      help: 'Samples in remote-write requests the receiver accepted, by receiver URL.',
      labelNames: ['url'],
      collect: () => writers.map((w) => ({ labels: { url: w.url }, value: w.stats().sent })),
    });
    telemetry.addCounter({
      name: 'spanmeter_remote_write_samples_dropped_total',
      help: 'Samples not delivered, by receiver URL and reason: queue_full (oldest request dropped), rejected (a 4xx answer other than 429), shutdown (not sent before the flush deadline).',
      labelNames: ['url', 'reason'],
      collect: () => writers.flatMap((w) => DROP_REASONS.map((reason) => ({ labels: { url: w.url, reason }, value: w.stats().dropped[reason] }))),
    });
    telemetry.addCounter({
      name: 'spanmeter_remote_write_requests_total',
      help: 'Remote-write attempts by receiver URL and outcome: the HTTP status, timeout or network_error.',
      labelNames: ['url', 'code'],
      collect: () => writers.flatMap((w) => [...w.stats().requests].map(([code, value]) => ({ labels: { url: w.url, code }, value }))),
    });
    telemetry.addGauge({
      name: 'spanmeter_remote_write_queue_length',
      help: 'Remote-write requests waiting or in flight, by receiver URL.',
      labelNames: ['url'],
      collect: () => writers.map((w) => ({ labels: { url: w.url }, value: w.stats().queueLength })),
    });
  }
  if (otlp) {
    const labels = { endpoint: otlp.endpoint };
    telemetry.addCounter({
      name: 'spanmeter_otlp_metrics_data_points_sent_total',
      help: 'Data points in OTLP metrics exports the receiver accepted.',
      labelNames: ['endpoint'],
      collect: () => [{ labels, value: otlp.stats().sent }],
    });
    telemetry.addCounter({
      name: 'spanmeter_otlp_metrics_data_points_dropped_total',
      help: 'Data points not delivered, by reason: queue_full, rejected (not retryable), shutdown.',
      labelNames: ['endpoint', 'reason'],
      collect: () => DROP_REASONS.map((reason) => ({ labels: { ...labels, reason }, value: otlp.stats().dropped[reason] })),
    });
    telemetry.addCounter({
      name: 'spanmeter_otlp_metrics_requests_total',
      help: 'OTLP metrics export attempts by outcome: HTTP status or gRPC status name, timeout or network_error.',
      labelNames: ['endpoint', 'code'],
      collect: () => [...otlp.stats().requests].map(([code, value]) => ({ labels: { ...labels, code }, value })),
    });
    telemetry.addGauge({
      name: 'spanmeter_otlp_metrics_queue_length',
      help: 'OTLP metrics exports waiting or in flight.',
      labelNames: ['endpoint'],
      collect: () => [{ labels, value: otlp.stats().queueLength }],
    });
  }
}
