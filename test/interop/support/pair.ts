// spanmeter beside the real Collector, for the differential tests: one Collector running
// `otlp` receiver (OTLP/HTTP) -> one connector -> `prometheus` exporter, and one spanmeter
// sidecar; the same requests go to both, and both are scraped in the Prometheus text format.
import { expect } from 'vitest';
import { freePorts, startOtelcol, startSidecar, type Otelcol } from './otelcol.js';
import { postTraces, type Sidecar } from '../../support/sidecar.js';

export interface Pair {
  spanmeter: Sidecar;
  otelcol: Otelcol;
  /** The Collector's OTLP/HTTP receiver, in the shape postTraces takes. */
  otelcolOtlp: { otlpHttpUrl: string };
  /** The Collector's prometheus exporter. */
  otelcolMetrics: string;
  stop(): Promise<void>;
}

export interface PairOptions {
  label: string;
  /** The connector's type (`spanmetrics`, `servicegraph`) and its config. */
  connector: string;
  connectorConfig: Record<string, unknown>;
  /** spanmeter's config (the sidecar adds the endpoints). */
  spanmeterConfig: Record<string, unknown>;
}

export async function startPair(o: PairOptions): Promise<Pair> {
  const [pOtlp, pProm] = await freePorts(2);
  const otelcol = await startOtelcol(
    {
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${pOtlp}` } } } },
      connectors: { [o.connector]: o.connectorConfig },
      exporters: { prometheus: { endpoint: `127.0.0.1:${pProm}` } },
      service: {
        pipelines: {
          traces: { receivers: ['otlp'], exporters: [o.connector] },
          metrics: { receivers: [o.connector], exporters: ['prometheus'] },
        },
        telemetry: { metrics: { level: 'none' } },
      },
    },
    { label: `${o.label} Collector` },
  );
  let spanmeter: Sidecar;
  try {
    spanmeter = await startSidecar({ label: `${o.label} spanmeter`, config: o.spanmeterConfig });
  } catch (e) {
    await otelcol.stop();
    throw e;
  }
  return {
    spanmeter,
    otelcol,
    otelcolOtlp: { otlpHttpUrl: `http://127.0.0.1:${pOtlp}` },
    otelcolMetrics: `http://127.0.0.1:${pProm}/metrics`,
    async stop() {
      await Promise.all([spanmeter.stop(), otelcol.stop()]);
    },
  };
}

const PROTOBUF = 'application/x-protobuf';

/** The same request to both, in protobuf over OTLP/HTTP; both must accept it whole. */
export async function sendBoth(pair: Pair, body: Uint8Array): Promise<void> {
  const [a, b] = await Promise.all([postTraces(pair.spanmeter, body, PROTOBUF), postTraces(pair.otelcolOtlp, body, PROTOBUF)]);
  expect(a.status, `spanmeter: ${a.text}`).toBe(200);
  expect(b.status, `Collector: ${b.text}`).toBe(200);
}

/** GET the Collector's prometheus exporter (text 0.0.4). */
export async function scrapeOtelcol(pair: Pair): Promise<string> {
  const res = await fetch(pair.otelcolMetrics, { headers: { Accept: 'text/plain;version=0.0.4' }, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`Collector /metrics: ${res.status}: ${text.slice(0, 300)}`);
  return text;
}
