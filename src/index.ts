// The package entry (`import { Spanmeter } from 'spanmeter'`): the WASM core and the Prometheus
// exposition in-process, for a Node service that wants span metrics and service graphs without
// running the sidecar. The sidecar is bin/spanmeter.js; the raw core is `spanmeter/wasm`
// (its ABI: docs/abi.md).
import { Core, coreOptions, type IngestResult } from './core/index.js';
import type { WasmBuild } from './core/wasm.js';
import { loadObject } from './config/load.js';
import type {
  Config, IntrinsicDimensions, ProcessorName, RegistryConfig, ServiceGraphsConfig, SloConfig, SpanEventsConfig,
  SpanMetricsConfig,
} from './config/types.js';
import { OtlpError } from './otlp/errors.js';
import { jsonToProtobuf } from './otlp/json.js';
import type { Family } from './exporters/families.js';
import { configuredFamilies } from './exporters/catalog.js';
import { OPENMETRICS_TEXT, PROMETHEUS_TEXT, renderFamilies, type TextFormat } from './exporters/exposition.js';

export type { IngestResult } from './core/index.js';
export type { TextFormat } from './exporters/exposition.js';
export type {
  Config, IntrinsicDimensions, ProcessorName, ServiceGraphsConfig, SloConfig, SpanEventsConfig, SpanMetricsConfig,
} from './config/types.js';
export { ConfigError, type ConfigIssue } from './config/errors.js';
export { defaultConfig } from './config/defaults.js';
export { OPENMETRICS_TEXT, PROMETHEUS_TEXT } from './exporters/exposition.js';

/** A Go duration string, as in the config file: "10s", "1m30s", "15m". */
export type Duration = string;

/**
 * The keys of the sidecar's config file that apply in process, with the same names, types and
 * checks (docs/config.md); everything left out keeps its default from defaultConfig(). The
 * listener and exporter keys (otlp, http_endpoint, remote_write, …) belong to the sidecar and
 * are refused here.
 */
export interface SpanmeterConfig {
  /** Default: ['span-metrics', 'service-graphs'] (the sidecar's). */
  processors?: ProcessorName[];
  processor?: {
    span_metrics?: Partial<Omit<SpanMetricsConfig, 'intrinsic_dimensions' | 'events'>> & {
      intrinsic_dimensions?: Partial<IntrinsicDimensions>;
      events?: Partial<SpanEventsConfig>;
    };
    service_graphs?: Partial<Omit<ServiceGraphsConfig, 'wait'>> & { wait?: Duration };
  };
  registry?: Partial<Omit<RegistryConfig, 'stale_duration'>> & { stale_duration?: Duration };
  /** 'tempo' (default) or 'otel': the Collector spanmetrics connector's names and buckets. */
  naming?: Config['naming'];
  /** 'classic' (default), 'native' or 'both': native (exponential) histograms, as Tempo's overrides. */
  generate_native_histograms?: Config['generate_native_histograms'];
  /** Default 1.1 (schema 3). */
  native_histogram_bucket_factor?: number;
  /** Default 100. */
  native_histogram_max_bucket_number?: number;
  /** Default "15m"; "0s": never reset. */
  native_histogram_min_reset_duration?: Duration;
  /** Spans that ended longer than this before ingest are left out; default "0s" (keep all). */
  metrics_ingestion_time_range_slack?: Duration;
  /** Service-level objectives: spanmeter_slo_good_total / spanmeter_slo_total per SLO. */
  slos?: (Partial<Omit<SloConfig, 'window' | 'threshold'>> & { name: string; objective: number; window?: Duration; threshold?: Duration })[];
}

export interface SpanmeterOptions {
  /** Which core to load: 'release' (default, build/spanmeter.wasm) or 'debug' (assertions on). */
  build?: WasmBuild;
}

/**
 * The config keys Spanmeter.create accepts, the others configure the sidecar: exactly the keys of
 * SpanmeterConfig (a key added to one and not the other fails to compile), and each a key of
 * Config (else the loadObject call below fails to compile).
 */
const IN_PROCESS_KEYS = Object.keys({
  processors: true, processor: true, registry: true, naming: true, metrics_ingestion_time_range_slack: true, slos: true,
  generate_native_histograms: true, native_histogram_bucket_factor: true, native_histogram_max_bucket_number: true,
  native_histogram_min_reset_duration: true,
} satisfies Record<keyof SpanmeterConfig, true>) as (keyof SpanmeterConfig)[];

/**
 * Checks `input` against the config schema and merges it over the defaults, as the sidecar
 * loads its file (config/load.ts, loadObject); throws ConfigError.
 */
export function resolveConfig(input: SpanmeterConfig = {}): Config {
  return loadObject(input, 'Spanmeter.create', IN_PROCESS_KEYS);
}

/**
 * spanmeter in-process: feed it OTLP ExportTraceServiceRequests, read Prometheus metrics.
 * Not thread-safe (nothing in Node is shared between threads anyway); one instance holds one
 * WASM core whose memory grows with the series it tracks (see registry.max_active_series).
 *
 *   const meter = await Spanmeter.create({ processors: ['span-metrics', 'service-graphs'] });
 *   meter.ingest(protobufBytes);           // or meter.ingestJson(otlpJsonText)
 *   setInterval(() => meter.expire(), 1000);
 *   res.end(meter.metrics());              // Prometheus text; metrics('openmetrics') for OpenMetrics
 */
export class Spanmeter {
  private readonly families: Family[];

  private constructor(
    /** The WASM core host: tables, exemplars, counters (see src/core/index.ts). */
    readonly core: Core,
    /** The resolved configuration. */
    readonly config: Config,
  ) {
    this.families = configuredFamilies(core, config);
  }

  /** Loads and configures a core. Throws ConfigError naming each bad key. */
  static async create(config: SpanmeterConfig = {}, options: SpanmeterOptions = {}): Promise<Spanmeter> {
    const resolved = resolveConfig(config);
    const core = await Core.create({ ...coreOptions(resolved), build: options.build });
    return new Spanmeter(core, resolved);
  }

  /**
   * Aggregates one OTLP ExportTraceServiceRequest in protobuf (not gzipped), all or nothing:
   * a malformed request changes nothing and answers `{ ok: false, reason }`.
   */
  ingest(request: Uint8Array, nowMs: number = Date.now()): IngestResult {
    return this.core.ingest(request, nowMs);
  }

  /** The same for OTLP/JSON (hex ids, integer or name enums, int64 as string or number). */
  ingestJson(body: string | Uint8Array, nowMs: number = Date.now()): IngestResult {
    let bytes: Uint8Array;
    try {
      bytes = jsonToProtobuf(body);
    } catch (err) {
      if (err instanceof OtlpError) return { ok: false, reason: err.message, spans: 0, cause: err.kind === 'too_deep' ? 'too_deep' : 'malformed' };
      throw err;
    }
    return this.core.ingest(bytes, nowMs);
  }

  /** The metrics as GET /metrics shows them: Prometheus text 0.0.4, or OpenMetrics 1.0 (with exemplars, `# EOF`). */
  metrics(format: TextFormat = 'text'): string {
    const text = renderFamilies(this.families, format).toString('utf8');
    return format === 'openmetrics' ? `${text}# EOF\n` : text;
  }

  /** The Content-Type of metrics(format), for an HTTP answer. */
  static contentType(format: TextFormat = 'text'): string {
    return format === 'openmetrics' ? OPENMETRICS_TEXT : PROMETHEUS_TEXT;
  }

  /**
   * Housekeeping, to call every second or so (the sidecar does): decides the service-graph
   * entries whose `wait` has ended (edge, virtual node or unpaired) and removes series not
   * updated within registry.stale_duration. Call it between ingests, not during one.
   */
  expire(nowMs: number = Date.now()): { expiredEdges: number; removedSeries: number } {
    const expiredEdges = this.core.expire(nowMs);
    return { expiredEdges, removedSeries: this.core.sweep(nowMs) };
  }

  /** Decides every waiting service-graph entry now, as at shutdown; returns how many. */
  flush(): number {
    return this.core.expire(Infinity);
  }

  /** Counters about the core itself (the sidecar's spanmeter_* self metrics). */
  stats(): {
    activeSeries: number; seriesLimited: number; seriesRemoved: number; edgeStoreSize: number;
    labelValueBytes: number; wasmMemoryBytes: number;
  } {
    const c = this.core;
    return {
      activeSeries: c.activeSeries(),
      seriesLimited: c.seriesLimited(),
      seriesRemoved: c.seriesRemoved(),
      edgeStoreSize: c.edgeStoreSize(),
      labelValueBytes: c.stringBytes(),
      wasmMemoryBytes: c.memoryBytes(),
    };
  }
}
