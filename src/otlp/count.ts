// Counts the spans of an ExportTraceServiceRequest (protobuf) without decoding them: walks
// resource_spans (1) → scope_spans (2) → spans (2) by tag and length only. Used to enforce
// otlp.max_spans_per_request before the core sees the request. Malformed input stops the walk
// (the core then rejects it with the precise reason); the count so far is returned.

/** Reads a varint at `pos`; returns [value, next position] or undefined when truncated/too long. */
function varint(buf: Uint8Array, pos: number, end: number): [number, number] | undefined {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10 && pos < end; i++) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value, pos];
    mul *= 128;
  }
  return undefined;
}

/**
 * Calls `onField(field, start, end)` for each length-delimited field in [pos, end) and skips the
 * others; returns false when the bytes are not well-formed protobuf.
 */
function eachLenField(buf: Uint8Array, pos: number, end: number, onField: (field: number, start: number, end: number) => boolean): boolean {
  while (pos < end) {
    const tag = varint(buf, pos, end);
    if (!tag) return false;
    pos = tag[1];
    const field = Math.floor(tag[0] / 8);
    switch (tag[0] & 7) {
      case 0: {
        const v = varint(buf, pos, end);
        if (!v) return false;
        pos = v[1];
        break;
      }
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const len = varint(buf, pos, end);
        if (!len || len[1] + len[0] > end) return false;
        if (!onField(field, len[1], len[1] + len[0])) return false;
        pos = len[1] + len[0];
        break;
      }
      default:
        return false;
    }
  }
  return pos === end;
}

/** The spans in an ExportTraceServiceRequest; stops early once the count passes `stopAbove`. */
export function countSpans(buf: Uint8Array, stopAbove = Infinity): number {
  let n = 0;
  eachLenField(buf, 0, buf.length, (f, s, e) =>
    f !== 1 ||
    eachLenField(buf, s, e, (f2, s2, e2) =>
      f2 !== 2 ||
      eachLenField(buf, s2, e2, (f3) => {
        if (f3 === 2) n++;
        return n <= stopAbove;
      }),
    ),
  );
  return n;
}
