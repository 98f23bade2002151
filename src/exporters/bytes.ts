// A byte buffer that doubles as it fills, under the writers that build exporter payloads in
// place: the /metrics text (exposition.ts), protobuf (protowriter.ts) and snappy (snappy.ts).

export class GrowableBytes {
  protected buf: Buffer;
  /** Bytes written so far. */
  pos = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, capacity));
  }

  /** Makes room for `n` more bytes. */
  protected reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The bytes written so far (a view: copy it before writing more). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
