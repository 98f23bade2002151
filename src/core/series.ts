// Read access to a series table in core memory (record layout: assembly/layout.ts, RECORD_*),
// without building a JS object per series or per sample. A series is named by its record
// index in the table (what the exporters call its slot), valid for a pass over the table.
// Records live in chunks (CHUNK_*): record i is the (i mod n)-th of chunk floor(i / n), n the
// records per chunk, found through the table's chunk directory.
import { CHUNK_HEADER, RECORD_GENERATION_SHIFT, RECORD_KEY, RECORD_LIVE, RECORD_OVERFLOW, RECORD_STATE } from './layout.js';

// Byte addresses become typed-array indexes by >>> 2 (u32) and >>> 3 (f64).

export class SeriesTableView {
  used = 0;
  private u32: Uint32Array = new Uint32Array(0);
  private f64: Float64Array = new Float64Array(0);
  private chunks = 0;
  private perChunk = 1;
  private stride = 0;
  private valuesOffset = 0;
  // The last record asked for and its address (a pass reads one record's words in a row).
  private last = -1;
  private lastAddress = 0;

  /** `keyWords` u32 key words and `valueCount` f64 values per record, as the core sized the table. */
  constructor(readonly keyWords: number, readonly valueCount: number) {}

  /** Re-reads the table's chunk directory; call once before a pass (it moves as the table grows). */
  refresh(u32: Uint32Array, f64: Float64Array, chunks: number, perChunk: number, used: number, stride: number, valuesOffset: number): void {
    this.u32 = u32;
    this.f64 = f64;
    this.chunks = chunks;
    this.perChunk = perChunk;
    this.last = -1;
    this.used = used;
    this.stride = stride;
    this.valuesOffset = valuesOffset;
  }

  private address(record: number): number {
    if (record !== this.last) {
      const chunk = Math.floor(record / this.perChunk);
      this.lastAddress = this.u32[(this.chunks >>> 2) + chunk]! + CHUNK_HEADER + (record - chunk * this.perChunk) * this.stride;
      this.last = record;
    }
    return this.lastAddress;
  }

  /** Whether the record holds a series (records of removed series are skipped). */
  live(record: number): boolean {
    return (this.u32[(this.address(record) + RECORD_STATE) >>> 2]! & RECORD_LIVE) !== 0;
  }

  /** Whether the record is the table's overflow series (labelled metric_overflow="true"). */
  overflow(record: number): boolean {
    return (this.u32[(this.address(record) + RECORD_STATE) >>> 2]! & RECORD_OVERFLOW) !== 0;
  }

  /** The record's generation: it changes whenever the record is (re)used (30 bits, wrapping). */
  generation(record: number): number {
    return this.u32[(this.address(record) + RECORD_STATE) >>> 2]! >>> RECORD_GENERATION_SHIFT;
  }

  /** Key word `word` (a KEY_ constant of assembly/layout.ts, plus a dimension's number). */
  key(record: number, word: number): number {
    return this.u32[((this.address(record) + RECORD_KEY) >>> 2) + word]!;
  }

  /** Value `index` (a V_ constant of assembly/layout.ts, plus a bucket's number). */
  value(record: number, index: number): number {
    return this.f64[((this.address(record) + this.valuesOffset) >>> 3) + index]!;
  }
}
