// The OTLP trace and metrics schema as a protobufjs Root, written out from opentelemetry-proto's field
// numbers so nothing is read from .proto files at run time (the sidecar ships no protos).
// Field names are lowerCamelCase, the protobufjs convention for message objects; the wire
// numbers and types are what matter. protobufjs treats JSON descriptors as proto3, so
// encode() skips fields that hold their default value (canonical output).
import protobuf from 'protobufjs';

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;

const descriptor = {
  nested: {
    opentelemetry: { nested: { proto: { nested: {
      common: { nested: { v1: { nested: {
        AnyValue: {
          oneofs: {
            value: {
              oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'],
            },
          },
          fields: {
            stringValue: { type: 'string', id: 1 },
            boolValue: { type: 'bool', id: 2 },
            intValue: { type: 'int64', id: 3 },
            doubleValue: { type: 'double', id: 4 },
            arrayValue: { type: 'ArrayValue', id: 5 },
            kvlistValue: { type: 'KeyValueList', id: 6 },
            bytesValue: { type: 'bytes', id: 7 },
          } satisfies Fields,
        },
        ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } satisfies Fields },
        KeyValueList: { fields: { values: { rule: 'repeated', type: 'KeyValue', id: 1 } } satisfies Fields },
        KeyValue: {
          fields: {
            key: { type: 'string', id: 1 },
            value: { type: 'AnyValue', id: 2 },
          } satisfies Fields,
        },
        InstrumentationScope: {
          fields: {
            name: { type: 'string', id: 1 },
            version: { type: 'string', id: 2 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
            droppedAttributesCount: { type: 'uint32', id: 4 },
          } satisfies Fields,
        },
      } } } },
      resource: { nested: { v1: { nested: {
        Resource: {
          fields: {
            attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 1 },
            droppedAttributesCount: { type: 'uint32', id: 2 },
          } satisfies Fields,
        },
      } } } },
      trace: { nested: { v1: { nested: {
        TracesData: {
          fields: { resourceSpans: { rule: 'repeated', type: 'ResourceSpans', id: 1 } } satisfies Fields,
        },
        ResourceSpans: {
          fields: {
            resource: { type: 'opentelemetry.proto.resource.v1.Resource', id: 1 },
            scopeSpans: { rule: 'repeated', type: 'ScopeSpans', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
          } satisfies Fields,
        },
        ScopeSpans: {
          fields: {
            scope: { type: 'opentelemetry.proto.common.v1.InstrumentationScope', id: 1 },
            spans: { rule: 'repeated', type: 'Span', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
          } satisfies Fields,
        },
        Span: {
          fields: {
            traceId: { type: 'bytes', id: 1 },
            spanId: { type: 'bytes', id: 2 },
            traceState: { type: 'string', id: 3 },
            parentSpanId: { type: 'bytes', id: 4 },
            flags: { type: 'fixed32', id: 16 },
            name: { type: 'string', id: 5 },
            kind: { type: 'SpanKind', id: 6 },
            startTimeUnixNano: { type: 'fixed64', id: 7 },
            endTimeUnixNano: { type: 'fixed64', id: 8 },
            attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 9 },
            droppedAttributesCount: { type: 'uint32', id: 10 },
            events: { rule: 'repeated', type: 'Event', id: 11 },
            droppedEventsCount: { type: 'uint32', id: 12 },
            links: { rule: 'repeated', type: 'Link', id: 13 },
            droppedLinksCount: { type: 'uint32', id: 14 },
            status: { type: 'Status', id: 15 },
          } satisfies Fields,
          nested: {
            SpanKind: {
              values: {
                SPAN_KIND_UNSPECIFIED: 0,
                SPAN_KIND_INTERNAL: 1,
                SPAN_KIND_SERVER: 2,
                SPAN_KIND_CLIENT: 3,
                SPAN_KIND_PRODUCER: 4,
                SPAN_KIND_CONSUMER: 5,
              },
            },
            Event: {
              fields: {
                timeUnixNano: { type: 'fixed64', id: 1 },
                name: { type: 'string', id: 2 },
                attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 3 },
                droppedAttributesCount: { type: 'uint32', id: 4 },
              } satisfies Fields,
            },
            Link: {
              fields: {
                traceId: { type: 'bytes', id: 1 },
                spanId: { type: 'bytes', id: 2 },
                traceState: { type: 'string', id: 3 },
                attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 4 },
                droppedAttributesCount: { type: 'uint32', id: 5 },
                flags: { type: 'fixed32', id: 6 },
              } satisfies Fields,
            },
          },
        },
        Status: {
          // Field 1 is reserved (the retired deprecated_code).
          fields: {
            message: { type: 'string', id: 2 },
            code: { type: 'StatusCode', id: 3 },
          } satisfies Fields,
          nested: {
            StatusCode: { values: { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 } },
          },
        },
      } } } },
      metrics: { nested: { v1: { nested: {
        // The metrics data model (opentelemetry/proto/metrics/v1/metrics.proto), for the OTLP
        // metrics push. Reserved numbers: Metric 4, 6, 8; the data points' 1.
        MetricsData: {
          fields: { resourceMetrics: { rule: 'repeated', type: 'ResourceMetrics', id: 1 } } satisfies Fields,
        },
        ResourceMetrics: {
          fields: {
            resource: { type: 'opentelemetry.proto.resource.v1.Resource', id: 1 },
            scopeMetrics: { rule: 'repeated', type: 'ScopeMetrics', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
          } satisfies Fields,
        },
        ScopeMetrics: {
          fields: {
            scope: { type: 'opentelemetry.proto.common.v1.InstrumentationScope', id: 1 },
            metrics: { rule: 'repeated', type: 'Metric', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
          } satisfies Fields,
        },
        Metric: {
          oneofs: { data: { oneof: ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] } },
          fields: {
            name: { type: 'string', id: 1 },
            description: { type: 'string', id: 2 },
            unit: { type: 'string', id: 3 },
            gauge: { type: 'Gauge', id: 5 },
            sum: { type: 'Sum', id: 7 },
            histogram: { type: 'Histogram', id: 9 },
            exponentialHistogram: { type: 'ExponentialHistogram', id: 10 },
            summary: { type: 'Summary', id: 11 },
            metadata: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 12 },
          } satisfies Fields,
        },
        Gauge: {
          fields: { dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 } } satisfies Fields,
        },
        Sum: {
          fields: {
            dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 },
            aggregationTemporality: { type: 'AggregationTemporality', id: 2 },
            isMonotonic: { type: 'bool', id: 3 },
          } satisfies Fields,
        },
        Histogram: {
          fields: {
            dataPoints: { rule: 'repeated', type: 'HistogramDataPoint', id: 1 },
            aggregationTemporality: { type: 'AggregationTemporality', id: 2 },
          } satisfies Fields,
        },
        ExponentialHistogram: {
          fields: {
            dataPoints: { rule: 'repeated', type: 'ExponentialHistogramDataPoint', id: 1 },
            aggregationTemporality: { type: 'AggregationTemporality', id: 2 },
          } satisfies Fields,
        },
        Summary: {
          fields: { dataPoints: { rule: 'repeated', type: 'SummaryDataPoint', id: 1 } } satisfies Fields,
        },
        AggregationTemporality: {
          values: {
            AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
            AGGREGATION_TEMPORALITY_DELTA: 1,
            AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
          },
        },
        DataPointFlags: {
          values: { DATA_POINT_FLAGS_DO_NOT_USE: 0, DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK: 1 },
        },
        NumberDataPoint: {
          oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
          fields: {
            attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 7 },
            startTimeUnixNano: { type: 'fixed64', id: 2 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            asDouble: { type: 'double', id: 4 },
            asInt: { type: 'sfixed64', id: 6 },
            exemplars: { rule: 'repeated', type: 'Exemplar', id: 5 },
            flags: { type: 'uint32', id: 8 },
          } satisfies Fields,
        },
        HistogramDataPoint: {
          // sum, min and max are proto3 `optional`: written when set, even to 0
          oneofs: {
            _sum: { oneof: ['sum'] },
            _min: { oneof: ['min'] },
            _max: { oneof: ['max'] },
          },
          fields: {
            attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 9 },
            startTimeUnixNano: { type: 'fixed64', id: 2 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            count: { type: 'fixed64', id: 4 },
            sum: { type: 'double', id: 5 },
            bucketCounts: { rule: 'repeated', type: 'fixed64', id: 6 },
            explicitBounds: { rule: 'repeated', type: 'double', id: 7 },
            exemplars: { rule: 'repeated', type: 'Exemplar', id: 8 },
            flags: { type: 'uint32', id: 10 },
            min: { type: 'double', id: 11 },
            max: { type: 'double', id: 12 },
          } satisfies Fields,
        },
        ExponentialHistogramDataPoint: {
          oneofs: {
            _sum: { oneof: ['sum'] },
            _min: { oneof: ['min'] },
            _max: { oneof: ['max'] },
          },
          fields: {
            attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 1 },
            startTimeUnixNano: { type: 'fixed64', id: 2 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            count: { type: 'fixed64', id: 4 },
            sum: { type: 'double', id: 5 },
            scale: { type: 'sint32', id: 6 },
            zeroCount: { type: 'fixed64', id: 7 },
            positive: { type: 'Buckets', id: 8 },
            negative: { type: 'Buckets', id: 9 },
            flags: { type: 'uint32', id: 10 },
            exemplars: { rule: 'repeated', type: 'Exemplar', id: 11 },
            min: { type: 'double', id: 12 },
            max: { type: 'double', id: 13 },
            zeroThreshold: { type: 'double', id: 14 },
          } satisfies Fields,
          nested: {
            Buckets: {
              fields: {
                offset: { type: 'sint32', id: 1 },
                bucketCounts: { rule: 'repeated', type: 'uint64', id: 2 },
              } satisfies Fields,
            },
          },
        },
        SummaryDataPoint: {
          fields: {
            attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 7 },
            startTimeUnixNano: { type: 'fixed64', id: 2 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            count: { type: 'fixed64', id: 4 },
            sum: { type: 'double', id: 5 },
            quantileValues: { rule: 'repeated', type: 'ValueAtQuantile', id: 6 },
            flags: { type: 'uint32', id: 8 },
          } satisfies Fields,
          nested: {
            ValueAtQuantile: {
              fields: {
                quantile: { type: 'double', id: 1 },
                value: { type: 'double', id: 2 },
              } satisfies Fields,
            },
          },
        },
        Exemplar: {
          oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
          fields: {
            filteredAttributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 7 },
            timeUnixNano: { type: 'fixed64', id: 2 },
            asDouble: { type: 'double', id: 3 },
            asInt: { type: 'sfixed64', id: 6 },
            spanId: { type: 'bytes', id: 4 },
            traceId: { type: 'bytes', id: 5 },
          } satisfies Fields,
        },
      } } } },
      collector: { nested: { metrics: { nested: { v1: { nested: {
        ExportMetricsServiceRequest: {
          fields: {
            resourceMetrics: { rule: 'repeated', type: 'opentelemetry.proto.metrics.v1.ResourceMetrics', id: 1 },
          } satisfies Fields,
        },
        ExportMetricsServiceResponse: {
          fields: { partialSuccess: { type: 'ExportMetricsPartialSuccess', id: 1 } } satisfies Fields,
        },
        ExportMetricsPartialSuccess: {
          fields: {
            rejectedDataPoints: { type: 'int64', id: 1 },
            errorMessage: { type: 'string', id: 2 },
          } satisfies Fields,
        },
        MetricsService: {
          methods: {
            Export: { requestType: 'ExportMetricsServiceRequest', responseType: 'ExportMetricsServiceResponse' },
          },
        },
      } } } }, trace: { nested: { v1: { nested: {
        ExportTraceServiceRequest: {
          fields: {
            resourceSpans: { rule: 'repeated', type: 'opentelemetry.proto.trace.v1.ResourceSpans', id: 1 },
          } satisfies Fields,
        },
        ExportTraceServiceResponse: {
          fields: { partialSuccess: { type: 'ExportTracePartialSuccess', id: 1 } } satisfies Fields,
        },
        ExportTracePartialSuccess: {
          fields: {
            rejectedSpans: { type: 'int64', id: 1 },
            errorMessage: { type: 'string', id: 2 },
          } satisfies Fields,
        },
        TraceService: {
          methods: {
            Export: { requestType: 'ExportTraceServiceRequest', responseType: 'ExportTraceServiceResponse' },
          },
        },
      } } } } } },
    } } } },
    google: { nested: {
      protobuf: { nested: {
        Duration: {
          fields: {
            seconds: { type: 'int64', id: 1 },
            nanos: { type: 'int32', id: 2 },
          } satisfies Fields,
        },
        Any: {
          fields: {
            typeUrl: { type: 'string', id: 1 },
            value: { type: 'bytes', id: 2 },
          } satisfies Fields,
        },
      } },
      rpc: { nested: {
        Status: {
          fields: {
            code: { type: 'int32', id: 1 },
            message: { type: 'string', id: 2 },
            details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
          } satisfies Fields,
        },
        // The detail gRPC servers attach to UNAVAILABLE / RESOURCE_EXHAUSTED to ask for a backoff.
        RetryInfo: {
          fields: { retryDelay: { type: 'google.protobuf.Duration', id: 1 } } satisfies Fields,
        },
      } },
    } },
  },
};

export const otlpRoot: protobuf.Root = protobuf.Root.fromJSON(descriptor);

const COMMON = 'opentelemetry.proto.common.v1.';
const TRACE = 'opentelemetry.proto.trace.v1.';
const COLLECTOR = 'opentelemetry.proto.collector.trace.v1.';

export const AnyValue = otlpRoot.lookupType(COMMON + 'AnyValue');
export const ArrayValue = otlpRoot.lookupType(COMMON + 'ArrayValue');
export const KeyValueList = otlpRoot.lookupType(COMMON + 'KeyValueList');
export const KeyValue = otlpRoot.lookupType(COMMON + 'KeyValue');
export const InstrumentationScope = otlpRoot.lookupType(COMMON + 'InstrumentationScope');
export const Resource = otlpRoot.lookupType('opentelemetry.proto.resource.v1.Resource');
export const TracesData = otlpRoot.lookupType(TRACE + 'TracesData');
export const ResourceSpans = otlpRoot.lookupType(TRACE + 'ResourceSpans');
export const ScopeSpans = otlpRoot.lookupType(TRACE + 'ScopeSpans');
export const Span = otlpRoot.lookupType(TRACE + 'Span');
export const SpanEvent = otlpRoot.lookupType(TRACE + 'Span.Event');
export const SpanLink = otlpRoot.lookupType(TRACE + 'Span.Link');
export const SpanKind = otlpRoot.lookupEnum(TRACE + 'Span.SpanKind');
export const Status = otlpRoot.lookupType(TRACE + 'Status');
export const StatusCode = otlpRoot.lookupEnum(TRACE + 'Status.StatusCode');
export const ExportTraceServiceRequest = otlpRoot.lookupType(COLLECTOR + 'ExportTraceServiceRequest');
export const ExportTraceServiceResponse = otlpRoot.lookupType(COLLECTOR + 'ExportTraceServiceResponse');
export const ExportTracePartialSuccess = otlpRoot.lookupType(COLLECTOR + 'ExportTracePartialSuccess');
export const TraceService = otlpRoot.lookupService(COLLECTOR + 'TraceService');

const METRICS = 'opentelemetry.proto.metrics.v1.';
const METRICS_COLLECTOR = 'opentelemetry.proto.collector.metrics.v1.';
export const MetricsData = otlpRoot.lookupType(METRICS + 'MetricsData');
export const ResourceMetrics = otlpRoot.lookupType(METRICS + 'ResourceMetrics');
export const ScopeMetrics = otlpRoot.lookupType(METRICS + 'ScopeMetrics');
export const Metric = otlpRoot.lookupType(METRICS + 'Metric');
export const NumberDataPoint = otlpRoot.lookupType(METRICS + 'NumberDataPoint');
export const HistogramDataPoint = otlpRoot.lookupType(METRICS + 'HistogramDataPoint');
export const MetricExemplar = otlpRoot.lookupType(METRICS + 'Exemplar');
export const AggregationTemporality = otlpRoot.lookupEnum(METRICS + 'AggregationTemporality');
export const ExportMetricsServiceRequest = otlpRoot.lookupType(METRICS_COLLECTOR + 'ExportMetricsServiceRequest');
export const ExportMetricsServiceResponse = otlpRoot.lookupType(METRICS_COLLECTOR + 'ExportMetricsServiceResponse');
export const ExportMetricsPartialSuccess = otlpRoot.lookupType(METRICS_COLLECTOR + 'ExportMetricsPartialSuccess');
export const MetricsService = otlpRoot.lookupService(METRICS_COLLECTOR + 'MetricsService');

/** gRPC method path of MetricsService.Export. */
export const METRICS_SERVICE_EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
export const ProtobufAny = otlpRoot.lookupType('google.protobuf.Any');
export const ProtobufDuration = otlpRoot.lookupType('google.protobuf.Duration');
export const RpcStatus = otlpRoot.lookupType('google.rpc.Status');
export const RpcRetryInfo = otlpRoot.lookupType('google.rpc.RetryInfo');

/** gRPC method path of TraceService.Export, as it appears on the wire. */
export const TRACE_SERVICE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

// Shapes of decoded messages (protobufjs decode() output with the `long` package present:
// 64-bit fields come back as Long). Unset proto3 scalars read as the prototype default.
export interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}
export interface PbAnyValue {
  value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';
  stringValue?: string;
  boolValue?: boolean;
  intValue?: LongLike | number;
  doubleValue?: number;
  arrayValue?: { values: PbAnyValue[] };
  kvlistValue?: { values: PbKeyValue[] };
  bytesValue?: Uint8Array;
}
export interface PbKeyValue {
  key: string;
  value?: PbAnyValue | null;
}
export interface PbStatus {
  message: string;
  code: number;
}
export interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  parentSpanId: Uint8Array;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: LongLike | number;
  endTimeUnixNano: LongLike | number;
  attributes: PbKeyValue[];
  status?: PbStatus | null;
}
export interface PbScopeSpans {
  scope?: { name: string; version: string; attributes: PbKeyValue[] } | null;
  spans: PbSpan[];
  schemaUrl: string;
}
export interface PbResourceSpans {
  resource?: { attributes: PbKeyValue[]; droppedAttributesCount: number } | null;
  scopeSpans: PbScopeSpans[];
  schemaUrl: string;
}
export interface PbExportTraceServiceRequest {
  resourceSpans: PbResourceSpans[];
}
