// The ingest budget shared by the OTLP receivers: bytes of request bodies and requests in flight
// (being received, decompressed, converted or ingested). When a request would pass either bound
// it is refused with a retryable answer (HTTP 429 + Retry-After, gRPC UNAVAILABLE + RetryInfo),
// before anything reached the core: a refused request changed nothing, so the sender's retry
// can neither lose nor double-count spans.

export interface IngestBudgetOptions {
  /** Bytes in flight; 0 = unlimited. */
  maxBytes: number;
  /** Requests in flight; 0 = unlimited. */
  maxRequests: number;
  /** The retry delay suggested to throttled senders, ms. Default 1000. */
  retryAfterMs?: number;
}

/** One admitted request's share of the budget. */
export interface BudgetTicket {
  /** Adds bytes to this request's share; false (nothing added) when the budget has no room. */
  grow(bytes: number): boolean;
  /** Returns the share; idempotent. */
  release(): void;
}

export class IngestBudget {
  readonly maxBytes: number;
  readonly maxRequests: number;
  readonly retryAfterMs: number;
  private bytes = 0;
  private requests = 0;

  constructor(options: IngestBudgetOptions) {
    this.maxBytes = options.maxBytes;
    this.maxRequests = options.maxRequests;
    this.retryAfterMs = options.retryAfterMs ?? 1000;
  }

  /** An unlimited budget (receivers started without one still count what is in flight). */
  static unlimited(): IngestBudget {
    return new IngestBudget({ maxBytes: 0, maxRequests: 0 });
  }

  get inflightBytes(): number {
    return this.bytes;
  }

  get inflightRequests(): number {
    return this.requests;
  }

  /** True while a new request would be refused (requests or bytes at their bound): /readyz says so. */
  get full(): boolean {
    if (this.requests === 0) return false;
    return (this.maxRequests > 0 && this.requests >= this.maxRequests) || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  /**
   * Admits one request expected to bring `bytes` (its Content-Length, or 0 when unknown), or
   * returns undefined when the budget is full. A request alone is always admitted, so a body
   * larger than the whole byte budget gets its 413 (or its 200), never an endless 429.
   */
  acquire(bytes = 0): BudgetTicket | undefined {
    if (this.requests > 0) {
      if (this.maxRequests > 0 && this.requests >= this.maxRequests) return undefined;
      if (this.maxBytes > 0 && this.bytes + bytes > this.maxBytes) return undefined;
    }
    this.requests++;
    this.bytes += bytes;
    let held = bytes;
    let released = false;
    return {
      grow: (n: number): boolean => {
        if (released) return false;
        if (this.maxBytes > 0 && this.requests > 1 && this.bytes + n > this.maxBytes) return false;
        this.bytes += n;
        held += n;
        return true;
      },
      release: (): void => {
        if (released) return;
        released = true;
        this.requests--;
        this.bytes -= held;
      },
    };
  }
}
