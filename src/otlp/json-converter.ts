// OTLP/JSON off the event loop: request bodies are inflated, counted and converted to protobuf in
// one worker thread, one at a time, so that a body that takes seconds to convert does not hold up
// probes, scrapes or protobuf requests. Its JS heap has a cap of its own (V8 resourceLimits): a
// body that needs more ends that worker, not the process, and is answered 413. Each body is also
// held to `maxNodes` objects and arrays before it is parsed (json-job.ts), so most such bodies are
// refused early. Run from the TypeScript sources (tests in-process), where there is no compiled
// worker script, the same job runs inline; the single executable carries the worker's bundle.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { OtlpError, type OtlpErrorKind } from './errors.js';
import { BYTES_PER_JSON_NODE } from './json-nodes.js';
import type { JsonJob } from './json-job.js';

/** The worker's JS heap cap (old generation), MiB. */
export const JSON_CONVERTER_HEAP_MIB = 256;
/**
 * Objects and arrays one body may hold: half the worker's heap at BYTES_PER_JSON_NODE each
 * (524,288; real OTLP/JSON of 40 to 50 bytes a node: 20 to 25 MB of JSON), the other half for the
 * text and the encoding.
 */
export const MAX_JSON_NODES = (JSON_CONVERTER_HEAP_MIB * 1024 * 1024) / 2 / BYTES_PER_JSON_NODE;
/** An idle worker is ended after this long (it holds some 10 MiB); the next body starts another. */
const IDLE_MS = 60_000;

type Limits = Omit<JsonJob, 'bytes' | 'encoding' | 'maxNodes'>;

interface Pending {
  id: number;
  job: JsonJob;
  resolve(bytes: Uint8Array): void;
  reject(err: OtlpError): void;
  /** The worker converting it. */
  worker?: Worker;
}

type Answer = { id: number; bytes: Uint8Array } | { id: number; kind: OtlpErrorKind; message: string };

/**
 * How the worker starts: in the single executable (sea/build.mjs), from its bundle stored as the
 * asset json-worker.cjs; else from the compiled script beside this file. Undefined (run from the
 * TypeScript sources, where there is none): the job runs inline.
 */
function workerSource(): { source: string | URL; evaluate: boolean } | undefined {
  try {
    const sea = createRequire(import.meta.url)('node:sea') as { isSea(): boolean; getAsset(key: string, encoding: string): string };
    if (sea.isSea()) return { source: sea.getAsset('json-worker.cjs', 'utf8'), evaluate: true };
  } catch {
    // no node:sea (Node < 20.12), or an executable built without the asset: as from files
  }
  const url = new URL('./json-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? { source: url, evaluate: false } : undefined;
}

export class JsonConverter {
  private readonly from = workerSource();
  private worker: Worker | undefined;
  private current: Pending | undefined;
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly limits: Limits) {}

  /** Bodies waiting or being converted. */
  get pending(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /** The protobuf bytes of one OTLP/JSON body (Content-Encoding undone first); rejects with an OtlpError. */
  convert(bytes: Uint8Array, encoding: string | undefined): Promise<Uint8Array> {
    const job: JsonJob = { ...this.limits, bytes, encoding, maxNodes: MAX_JSON_NODES };
    // Inline (no worker script): the converter and protobufjs load on the first body.
    if (!this.from) return import('./json-job.js').then((m) => m.runJsonJob(job));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: ++this.nextId, job, resolve, reject });
      this.next();
    });
  }

  /** Ends the worker (jobs in flight are refused as unavailable). */
  close(): void {
    if (this.idle) clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
    void w?.terminate();
  }

  private next(): void {
    if (this.current || this.queue.length === 0) return;
    if (this.idle) clearTimeout(this.idle);
    const p = this.queue.shift()!;
    this.current = p;
    // A copy the worker owns: a view's whole underlying buffer would be cloned, and a transfer
    // would detach memory the caller shares.
    const bytes = new Uint8Array(p.job.bytes);
    p.worker = this.spawn();
    p.worker.postMessage({ ...p.job, bytes, id: p.id }, [bytes.buffer]);
  }

  /** The job `w` is converting, taken off as current; undefined when it is converting none. */
  private takeCurrent(w: Worker): Pending | undefined {
    const p = this.current;
    if (!p || p.worker !== w) return undefined;
    this.current = undefined;
    return p;
  }

  private spawn(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.from!.source, { eval: this.from!.evaluate, resourceLimits: { maxOldGenerationSizeMb: JSON_CONVERTER_HEAP_MIB } });
    w.unref();
    w.on('message', (a: Answer) => {
      if (this.current?.id !== a.id) return;
      const p = this.takeCurrent(w);
      if (!p) return;
      if ('bytes' in a) p.resolve(a.bytes);
      else p.reject(new OtlpError(a.kind, a.message));
      this.settle();
    });
    w.on('error', (err: Error & { code?: string }) => {
      if (this.worker === w) this.worker = undefined;
      const p = this.takeCurrent(w);
      if (p) {
        p.reject(err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new OtlpError('too_large', `converting this OTLP/JSON body of ${p.job.bytes.length} bytes needed more than the converter's ${JSON_CONVERTER_HEAP_MIB} MiB of memory: send smaller batches, or protobuf (application/x-protobuf)`)
          : new OtlpError('internal', `OTLP/JSON converter failed: ${err.message}`));
      }
      this.settle();
    });
    w.on('exit', () => {
      if (this.worker === w) this.worker = undefined;
      const p = this.takeCurrent(w);
      if (!p) return;
      p.reject(new OtlpError('unavailable', 'the OTLP/JSON converter stopped: retry'));
      this.settle();
    });
    this.worker = w;
    return w;
  }

  private settle(): void {
    if (this.queue.length > 0) {
      this.next();
      return;
    }
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.close(), IDLE_MS);
    this.idle.unref();
  }
}
