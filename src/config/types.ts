// The configuration schema as the rest of the host sees it, after defaults and validation.
// YAML keys follow Tempo's metrics_generator names so a Tempo user can copy theirs.

export type ProcessorName = 'span-metrics' | 'service-graphs';

export interface IntrinsicDimensions {
  service: boolean;
  span_name: boolean;
  span_kind: boolean;
  status_code: boolean;
  status_message: boolean;
}

export interface SpanMetricsConfig {
  /** Latency histogram upper bounds in seconds, ascending; +Inf is implicit. */
  histogram_buckets: number[];
  /** Span or resource attribute names that become labels (resource looked up first). */
  dimensions: string[];
  intrinsic_dimensions: IntrinsicDimensions;
}

export interface OtlpConfig {
  /** host:port for OTLP/HTTP; "" disables the receiver. */
  http_endpoint: string;
  /** host:port for OTLP/gRPC; "" disables the receiver. */
  grpc_endpoint: string;
  /** Largest request body accepted after decompression, bytes (HTTP and gRPC). */
  max_request_body_size: number;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface Config {
  otlp: OtlpConfig;
  /** host:port serving /metrics and /healthz. */
  http_endpoint: string;
  processors: ProcessorName[];
  processor: {
    span_metrics: SpanMetricsConfig;
  };
  log_level: LogLevel;
}
