// `spanmeter --demo`: feeds the sidecar's own OTLP/HTTP receiver a realistic synthetic
// topology, so that the web page has something to show within seconds.
//
// The traffic is the benchmark's workload (src/workload/workload.ts: 20 services of an online shop in
// tiers, HTTP and gRPC calls, PostgreSQL/Redis/MongoDB/Elasticsearch calls, Kafka producers and
// consumers, 2–3 pods per service, 1% errors), generated once with a fixed seed and posted in
// a loop as OTLP protobuf over HTTP, as a Collector would send it. The pace swings slowly around
// `spansPerSecond` so that the rates on the page move.
import { generateWorkload } from '../workload/workload.js';
import http from 'node:http';
import type { Logger } from '../log.js';
import type { SloConfig } from '../config/types.js';

const DAY_MS = 86_400_000;

/**
 * SLOs over the demo's shop, for the page's SLO section when the config names none. Objectives it
 * meets, with part of the budget spent: over the workload's loop the frontend's server spans are
 * 98.4% good (5xx counted as errors) and checkout's 97.8% within 1 s (89% within 500 ms).
 */
export const DEMO_SLOS: readonly SloConfig[] = [
  {
    name: 'frontend-availability', description: 'Shop pages load without errors.', service: 'frontend', span_name: '',
    span_name_regex: '', span_kind: 'server', objective: 97, window: 30 * DAY_MS, kind: 'availability', threshold: 0,
    http_5xx_as_error: true,
  },
  {
    name: 'checkout-latency', description: 'Checkout answers within a second.', service: 'checkout', span_name: '',
    span_name_regex: '', span_kind: 'server', objective: 95, window: 30 * DAY_MS, kind: 'latency', threshold: 1000,
    http_5xx_as_error: false,
  },
];

export interface DemoOptions {
  /** The OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  url: string;
  /** Mean spans per second sent; default 400. */
  spansPerSecond?: number;
  /** Spans per request; default 50. */
  spansPerBatch?: number;
  /** Requests generated before the loop repeats; default 240. */
  batches?: number;
  logger?: Logger;
}

export interface Demo {
  /** Requests answered with 200 so far. */
  readonly sent: number;
  stop(): Promise<void>;
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  const spansPerBatch = options.spansPerBatch ?? 50;
  const workload = generateWorkload({ seed: 0x5eed, batches: options.batches ?? 240, spansPerBatch });
  const mean = options.spansPerSecond ?? 400;
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const log = options.logger;
  const started = Date.now();
  let next = 0;
  let sent = 0;
  let stopped = false;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const post = (body: Uint8Array): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.byteLength },
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', reject);
      req.end(body);
    });

  const tick = (): void => {
    if (stopped) return;
    const i = next;
    next = (next + 1) % workload.batches.length;
    inFlight = post(workload.batches[i]!).then(
      (status) => {
        if (status === 200) {
          sent++;
          if (failing) log?.info({}, 'demo: the receiver takes the traces again');
          failing = false;
        } else if (!failing) {
          failing = true;
          log?.warn({ status }, 'demo: the receiver refused a request');
        }
      },
      (err: unknown) => {
        if (!failing && !stopped) log?.warn({ err }, 'demo: sending to the receiver failed');
        failing = true;
      },
    ).finally(() => {
      if (stopped) return;
      // A slow swing (±35% over a minute) and a faster, smaller ripple keep the rates moving.
      const t = (Date.now() - started) / 1000;
      const pace = mean * (1 + 0.35 * Math.sin((2 * Math.PI * t) / 60) + 0.1 * Math.sin((2 * Math.PI * t) / 7));
      timer = setTimeout(tick, (1000 * workload.spanCounts[i]!) / Math.max(pace, 1));
    });
  };
  tick();

  return {
    get sent() {
      return sent;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight.catch(() => undefined);
      agent.destroy();
    },
  };
}
