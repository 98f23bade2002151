// Fault isolation for the core. A WASM trap (out of memory, an AssemblyScript abort, unreachable)
// leaves the instance in an unknown state: its request is answered 500 / INTERNAL, the failure is
// logged with context, and a fresh instance is built with the same options (Core.create). The
// aggregated state of the old one is lost; the loss is counted (restarts, series lost) and shown
// in /healthz. While the new instance is being built, requests get 503 / UNAVAILABLE with a retry
// delay: nothing is acknowledged that was not counted.
import { OtlpError } from '../otlp/errors.js';
import type { Destination } from '../otlp/gzip.js';
import type { Logger } from '../log.js';
import type { IngestResult, TraceConsumer } from './result.js';
import { Core, type CoreOptions } from './index.js';

export interface CoreFailure {
  /** When it happened, ISO 8601. */
  at: string;
  /** What the core threw. */
  error: string;
  /** Where: ingest, or the name of the maintenance call. */
  during: string;
  /** Active series held by the instance that was dropped. */
  lostSeries: number;
}

export class SupervisedCore implements TraceConsumer {
  private core: Core;
  private rebuilding: Promise<void> | undefined;
  private restartCount = 0;
  private lost = 0;
  private last: CoreFailure | undefined;
  /** A Core that always forwards to the current instance: what the exporters and the UI hold. */
  readonly view: Core;

  constructor(
    core: Core,
    private readonly factory: () => Promise<Core>,
    private readonly log: Logger,
  ) {
    this.core = core;
    this.view = new Proxy(core, {
      get: (_target, prop) => {
        const current = this.core as unknown as Record<PropertyKey, unknown>;
        const v = current[prop];
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(this.core) : v;
      },
    });
  }

  /** Builds the first instance; later ones are built from the same options. */
  static async create(options: CoreOptions, log: Logger): Promise<SupervisedCore> {
    return new SupervisedCore(await Core.create(options), () => Core.create(options), log);
  }

  /** Core.ingest, with a trap turned into an OtlpError('internal') and a rebuild. */
  ingest(bytes: Uint8Array): IngestResult {
    return this.guarded(() => this.core.ingest(bytes), () => bytes.length);
  }

  /** Core.input then Core.ingestInput, guarded as ingest; an OtlpError from `write` is the request's answer. */
  ingestWritten(write: (input: Destination) => number): IngestResult {
    let bytes = 0;
    return this.guarded(() => this.core.ingestInput((bytes = write(this.core.input))), () => bytes);
  }

  private guarded(take: () => IngestResult, requestBytes: () => number): IngestResult {
    if (this.rebuilding) {
      throw new OtlpError('unavailable', 'the core is being rebuilt after a failure; retry shortly');
    }
    try {
      return take();
    } catch (err) {
      if (err instanceof OtlpError) throw err;
      const failure = this.fail('ingest', err, { request_bytes: requestBytes() });
      throw new OtlpError(
        'internal',
        `core failure (${failure.error}): this request was not counted; the aggregated state was lost and the core is being rebuilt`,
      );
    }
  }

  /** Runs a maintenance call (expire, sweep, …) on the current instance; a trap rebuilds it. */
  run<T>(during: string, f: (core: Core) => T): T | undefined {
    if (this.rebuilding) return undefined;
    try {
      return f(this.core);
    } catch (err) {
      this.fail(during, err, {});
      return undefined;
    }
  }

  /** Instances replaced after a failure so far. */
  restarts(): number {
    return this.restartCount;
  }

  /** Active series dropped with failed instances so far. */
  lostSeries(): number {
    return this.lost;
  }

  /** The most recent failure, if any. */
  lastFailure(): CoreFailure | undefined {
    return this.last;
  }

  /** True while a replacement instance is being built. */
  isRebuilding(): boolean {
    return this.rebuilding !== undefined;
  }

  /** Resolves once no rebuild is under way. */
  async settled(): Promise<void> {
    while (this.rebuilding) await this.rebuilding;
  }

  private fail(during: string, err: unknown, context: Record<string, unknown>): CoreFailure {
    let lostSeries = 0;
    try {
      lostSeries = this.core.activeSeries();
    } catch {
      /* the instance may be unusable */
    }
    const failure: CoreFailure = {
      at: new Date().toISOString(),
      error: err instanceof Error ? err.message : String(err),
      during,
      lostSeries,
    };
    this.last = failure;
    this.lost += lostSeries;
    this.restartCount++;
    this.log.error(
      { err, during, ...context, lost_series: lostSeries, restarts: this.restartCount },
      'core failure: rebuilding the core; its aggregated state is lost',
    );
    this.rebuilding ??= this.rebuild();
    return failure;
  }

  private async rebuild(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.core = await this.factory();
        this.rebuilding = undefined;
        this.log.warn({ restarts: this.restartCount }, 'core rebuilt: counting starts again from zero');
        return;
      } catch (err) {
        this.log.error({ err, attempt }, 'core rebuild failed; trying again');
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * attempt)));
      }
    }
  }
}
