// Read access to a series table in core memory (layout: assembly/series.ts), without
// building a JS object per series or per sample.

const HEADER_GENERATION = 8;
const HEADER_FLAGS = 12;
const HEADER_KEY = 16;
const FLAG_LIVE = 1;
const FLAG_OVERFLOW = 2;

export class SeriesTableView {
  used = 0;
  private u32: Uint32Array = new Uint32Array(0);
  private f64: Float64Array = new Float64Array(0);
  private slab = 0;
  private stride = 0;
  private valuesOffset = 0;

  constructor(readonly keyWords: number, readonly valueCount: number) {}

  /** Re-reads the table's place in memory; call once before a pass (records move as it grows). */
  refresh(u32: Uint32Array, f64: Float64Array, slab: number, used: number, stride: number, valuesOffset: number): void {
    this.u32 = u32;
    this.f64 = f64;
    this.slab = slab;
    this.used = used;
    this.stride = stride;
    this.valuesOffset = valuesOffset;
  }

  /** Whether the slot holds a series (slots of removed series are skipped). */
  live(slot: number): boolean {
    return (this.u32[(this.slab + slot * this.stride + HEADER_FLAGS) >>> 2] & FLAG_LIVE) !== 0;
  }

  /** Whether the slot is the table's overflow series (labelled metric_overflow="true"). */
  overflow(slot: number): boolean {
    return (this.u32[(this.slab + slot * this.stride + HEADER_FLAGS) >>> 2] & FLAG_OVERFLOW) !== 0;
  }

  generation(slot: number): number {
    return this.u32[(this.slab + slot * this.stride + HEADER_GENERATION) >>> 2];
  }

  key(slot: number, word: number): number {
    return this.u32[((this.slab + slot * this.stride + HEADER_KEY) >>> 2) + word];
  }

  value(slot: number, index: number): number {
    return this.f64[((this.slab + slot * this.stride + this.valuesOffset) >>> 3) + index];
  }
}
