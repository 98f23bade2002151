// Prometheus remote write 1.0's protobuf messages (package `prometheus`, prompb's remote.proto and
// types.proto), with prompb's field numbers. The exporter writes these messages with a
// protobufjs Writer directly (label bytes cached per series); this Root decodes them in the
// tests and is the reference the hand-written encoding is checked against.
import protobuf from 'protobufjs';

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;

/** Field numbers, as written by the encoder. */
export const PROMPB = {
  WRITE_REQUEST_TIMESERIES: 1,
  WRITE_REQUEST_METADATA: 3,
  TIMESERIES_LABELS: 1,
  TIMESERIES_SAMPLES: 2,
  TIMESERIES_EXEMPLARS: 3,
  TIMESERIES_HISTOGRAMS: 4,
  HISTOGRAM_COUNT_INT: 1,
  HISTOGRAM_COUNT_FLOAT: 2,
  HISTOGRAM_SUM: 3,
  HISTOGRAM_SCHEMA: 4,
  HISTOGRAM_ZERO_THRESHOLD: 5,
  HISTOGRAM_ZERO_COUNT_INT: 6,
  HISTOGRAM_ZERO_COUNT_FLOAT: 7,
  HISTOGRAM_POSITIVE_SPANS: 11,
  HISTOGRAM_POSITIVE_DELTAS: 12,
  HISTOGRAM_POSITIVE_COUNTS: 13,
  HISTOGRAM_TIMESTAMP: 15,
  BUCKET_SPAN_OFFSET: 1,
  BUCKET_SPAN_LENGTH: 2,
  LABEL_NAME: 1,
  LABEL_VALUE: 2,
  SAMPLE_VALUE: 1,
  SAMPLE_TIMESTAMP: 2,
  EXEMPLAR_LABELS: 1,
  EXEMPLAR_VALUE: 2,
  EXEMPLAR_TIMESTAMP: 3,
  METADATA_TYPE: 1,
  METADATA_FAMILY_NAME: 2,
  METADATA_HELP: 4,
  METADATA_UNIT: 5,
} as const;

/** MetricMetadata.MetricType values. */
export const METRIC_TYPE = { UNKNOWN: 0, COUNTER: 1, GAUGE: 2, HISTOGRAM: 3 } as const;

const descriptor = {
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          // field 2 is reserved (Cortex's source)
          fields: {
            timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 },
            metadata: { rule: 'repeated', type: 'MetricMetadata', id: 3 },
          } satisfies Fields,
        },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
            exemplars: { rule: 'repeated', type: 'Exemplar', id: 3 },
            histograms: { rule: 'repeated', type: 'Histogram', id: 4 },
          } satisfies Fields,
        },
        Histogram: {
          // prompb types.proto; count and zero_count are oneofs of an int and a float field.
          fields: {
            countInt: { type: 'uint64', id: 1 },
            countFloat: { type: 'double', id: 2 },
            sum: { type: 'double', id: 3 },
            schema: { type: 'sint32', id: 4 },
            zeroThreshold: { type: 'double', id: 5 },
            zeroCountInt: { type: 'uint64', id: 6 },
            zeroCountFloat: { type: 'double', id: 7 },
            positiveSpans: { rule: 'repeated', type: 'BucketSpan', id: 11 },
            positiveDeltas: { rule: 'repeated', type: 'sint64', id: 12 },
            positiveCounts: { rule: 'repeated', type: 'double', id: 13 },
            resetHint: { type: 'int32', id: 14 },
            timestamp: { type: 'int64', id: 15 },
          } satisfies Fields,
        },
        BucketSpan: {
          fields: {
            offset: { type: 'sint32', id: 1 },
            length: { type: 'uint32', id: 2 },
          } satisfies Fields,
        },
        Label: {
          fields: {
            name: { type: 'string', id: 1 },
            value: { type: 'string', id: 2 },
          } satisfies Fields,
        },
        Sample: {
          fields: {
            value: { type: 'double', id: 1 },
            timestamp: { type: 'int64', id: 2 },
          } satisfies Fields,
        },
        Exemplar: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            value: { type: 'double', id: 2 },
            timestamp: { type: 'int64', id: 3 },
          } satisfies Fields,
        },
        MetricMetadata: {
          fields: {
            type: { type: 'MetricType', id: 1 },
            metricFamilyName: { type: 'string', id: 2 },
            help: { type: 'string', id: 4 },
            unit: { type: 'string', id: 5 },
          } satisfies Fields,
          nested: {
            MetricType: {
              values: { UNKNOWN: 0, COUNTER: 1, GAUGE: 2, HISTOGRAM: 3, GAUGEHISTOGRAM: 4, SUMMARY: 5, INFO: 6, STATESET: 7 },
            },
          },
        },
      },
    },
  },
};

export const prompbRoot: protobuf.Root = protobuf.Root.fromJSON(descriptor);
export const WriteRequest = prompbRoot.lookupType('prometheus.WriteRequest');
export const TimeSeries = prompbRoot.lookupType('prometheus.TimeSeries');

// Shapes of decoded messages (protobufjs decode() output; int64 comes back as Long).
export interface PbLabel {
  name: string;
  value: string;
}
export interface PbSample {
  value: number;
  timestamp: number | { low: number; high: number; unsigned: boolean; toNumber(): number };
}
export interface PbExemplar {
  labels: PbLabel[];
  value: number;
  timestamp: PbSample['timestamp'];
}
export interface PbHistogram {
  countInt?: number | { toNumber(): number };
  countFloat?: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCountInt?: number | { toNumber(): number };
  zeroCountFloat?: number;
  positiveSpans: { offset: number; length: number }[];
  positiveDeltas: (number | { toNumber(): number })[];
  positiveCounts: number[];
  timestamp: PbSample['timestamp'];
}
export interface PbTimeSeries {
  labels: PbLabel[];
  samples: PbSample[];
  exemplars: PbExemplar[];
  histograms: PbHistogram[];
}
export interface PbMetricMetadata {
  type: number;
  metricFamilyName: string;
  help: string;
  unit: string;
}
export interface PbWriteRequest {
  timeseries: PbTimeSeries[];
  metadata: PbMetricMetadata[];
}
