// Delivery of pushed requests (remote write, OTLP metrics): a bounded FIFO queue sent one request
// at a time, so a series' samples reach the receiver in time order. A failed attempt that may
// succeed later (HTTP 5xx or 429, gRPC UNAVAILABLE, a timeout, a network error) is retried
// with exponential backoff, or after the receiver's Retry-After / RetryInfo; any other
// rejection drops the request at once. When the queue is full the oldest request is dropped:
// pushed values are cumulative, so the newest request supersedes it. Every drop is counted.
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';

/** What one attempt to send a request came to. */
export type Outcome =
  | { ok: true; code: string; warning?: string }
  | {
      ok: false;
      /** Whether a later attempt may succeed. */
      retry: boolean;
      /** HTTP status ("500"), gRPC status name ("UNAVAILABLE"), or "timeout" / "network_error". */
      code: string;
      message: string;
      /** The receiver's Retry-After / RetryInfo delay, ms. */
      retryAfterMs?: number;
    };

/** Sends one request body; `signal` aborts it (timeout or shutdown). Must not throw. */
export type Send = (body: Uint8Array, signal: AbortSignal) => Promise<Outcome>;

export const DROP_REASONS = ['queue_full', 'rejected', 'shutdown'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface DeliveryOptions {
  /** For logs: where the requests go (no credentials). */
  name: string;
  send: Send;
  /** Most requests waiting or in flight; past it the oldest is dropped. */
  maxQueued: number;
  /** First retry delay, doubled on each further failure up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
  /** What a request's `items` counts, for logs: "samples", "data points". */
  unit?: string;
}

export interface Pending {
  body: Uint8Array;
  /** Samples or data points in the request, for the counters. */
  items: number;
}

interface Entry extends Pending {
  /** Dropped from the queue while in flight or waiting to retry. */
  evicted: boolean;
  /** Ends the retry wait early (set while waiting). */
  wake?: () => void;
}

/** Counters of one queue, read by the self metrics. */
export interface DeliveryStats {
  /** Items in requests the receiver accepted. */
  sent: number;
  dropped: Record<DropReason, number>;
  /** Attempts by outcome code (HTTP status, gRPC status name, timeout, network_error). */
  requests: Map<string, number>;
}

/** Exponential backoff: min · 2^attempt, at most max. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
}

/** Log lines about failures: at most one per this interval per queue (the rest are counted). */
const LOG_INTERVAL_MS = 10_000;

export class DeliveryQueue {
  readonly stats: DeliveryStats = {
    sent: 0,
    dropped: { queue_full: 0, rejected: 0, shutdown: 0 },
    requests: new Map(),
  };
  private readonly queue: Entry[] = [];
  private inFlight: Entry | undefined;
  private running: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  /** Aborted when the drain deadline passes: stops the attempt in flight and every wait. */
  private readonly shutdown = new AbortController();
  private closed = false;
  private lastLog = -Infinity;
  private suppressed = 0;
  private failing = false;

  constructor(private readonly options: DeliveryOptions) {
    if (!(options.maxQueued >= 1)) throw new Error(`maxQueued must be at least 1, got ${options.maxQueued}`);
    this.log = options.logger ?? silentLogger;
    this.minBackoffMs = options.minBackoffMs ?? 30;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
  }

  /** Requests waiting or in flight. */
  get length(): number {
    return this.queue.length;
  }

  /** Adds a request; drops the oldest when the queue is full. Ignored after close(). */
  enqueue(request: Pending): void {
    if (this.closed) {
      this.stats.dropped.shutdown += request.items;
      return;
    }
    this.queue.push({ ...request, evicted: false });
    while (this.queue.length > this.options.maxQueued) {
      const oldest = this.queue.shift()!;
      oldest.evicted = true;
      oldest.wake?.();
      // the one in flight is counted when its attempt ends (it may still get through)
      if (oldest !== this.inFlight) this.drop(oldest, 'queue_full');
    }
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when every request queued so far was delivered or dropped. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Stops taking requests and sends what is queued until `deadlineMs` (epoch ms); then aborts the
   * attempt in flight and drops the rest as `shutdown`.
   */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    const timer = setTimeout(() => this.shutdown.abort(), Math.max(0, deadlineMs - Date.now()));
    try {
      await this.idle();
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const entry = this.queue[0]!;
      this.inFlight = entry;
      try {
        await this.deliver(entry);
      } finally {
        this.inFlight = undefined;
        if (this.queue[0] === entry) this.queue.shift();
      }
    }
  }

  private async deliver(entry: Entry): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.shutdown.signal.aborted) return this.drop(entry, 'shutdown');
      let outcome: Outcome;
      try {
        outcome = await this.options.send(entry.body, this.shutdown.signal);
      } catch (err) {
        outcome = { ok: false, retry: true, code: 'network_error', message: err instanceof Error ? err.message : String(err) };
      }
      this.stats.requests.set(outcome.code, (this.stats.requests.get(outcome.code) ?? 0) + 1);
      if (outcome.ok) {
        this.stats.sent += entry.items;
        if (this.failing) {
          this.failing = false;
          this.log.info({ to: this.options.name }, 'push: delivering again');
        }
        if (outcome.warning) this.note({ to: this.options.name, warning: outcome.warning }, 'push: accepted with a warning');
        return;
      }
      if (!outcome.retry) {
        this.note(
          { to: this.options.name, code: outcome.code, error: outcome.message, [this.options.unit ?? 'items']: entry.items },
          'push: request rejected, dropped (not retried)',
        );
        return this.drop(entry, 'rejected');
      }
      if (entry.evicted) return this.drop(entry, 'queue_full');
      if (this.shutdown.signal.aborted) return this.drop(entry, 'shutdown');
      const delay = outcome.retryAfterMs ?? backoffDelay(attempt, this.minBackoffMs, this.maxBackoffMs);
      if (!this.failing) {
        this.failing = true;
        this.lastLog = -Infinity;
      }
      this.note(
        { to: this.options.name, code: outcome.code, error: outcome.message, retry_in_ms: delay, attempt: attempt + 1 },
        'push: attempt failed, retrying',
      );
      await this.wait(delay, entry);
      if (entry.evicted) return this.drop(entry, 'queue_full');
    }
  }

  /** Sleeps `ms`, or less if the entry is evicted meanwhile or the shutdown deadline passes. */
  private wait(ms: number, entry: Entry): Promise<void> {
    return new Promise<void>((resolve) => {
      const signal = this.shutdown.signal;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        entry.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      entry.wake = done;
    });
  }

  private drop(entry: Pending, reason: DropReason): void {
    this.stats.dropped[reason] += entry.items;
  }

  /** A warning, rate-limited per queue. */
  private note(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.lastLog < LOG_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    this.log.warn(this.suppressed > 0 ? { ...fields, similar_lines_suppressed: this.suppressed } : fields, msg);
    this.lastLog = now;
    this.suppressed = 0;
  }
}

/** The delay a Retry-After header asks for (seconds or an HTTP date), ms; undefined if absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const t = value.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const date = Date.parse(t);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** An HTTP status as an outcome: 2xx ok; 5xx and 429 retried (with Retry-After); other codes not. */
export function httpOutcome(status: number, retryAfter: string | null, message: string): Outcome {
  const code = String(status);
  if (status >= 200 && status < 300) return { ok: true, code };
  const retry = status >= 500 || status === 429;
  const retryAfterMs = retry ? parseRetryAfter(retryAfter) : undefined;
  return { ok: false, retry, code, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/** A fetch failure as an outcome: a timeout or a network error, both retried. */
export function fetchErrorOutcome(err: unknown, timedOut: boolean): Outcome {
  const message = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
  return { ok: false, retry: true, code: timedOut ? 'timeout' : 'network_error', message };
}

/** A signal aborted by either `a` or a timeout of `ms`, and whether the timeout fired. */
export function withTimeout(a: AbortSignal, ms: number): { signal: AbortSignal; timedOut: () => boolean; clear: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = (): void => controller.abort(a.reason);
  if (a.aborted) controller.abort(a.reason);
  else a.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${ms} ms`));
  }, ms);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    clear: () => {
      clearTimeout(timer);
      a.removeEventListener('abort', onAbort);
    },
  };
}

/** A URL for logs and labels: no user name or password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
