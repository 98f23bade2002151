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
export interface PbTimeSeries {
  labels: PbLabel[];
  samples: PbSample[];
  exemplars: PbExemplar[];
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
