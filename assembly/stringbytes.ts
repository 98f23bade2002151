// Where intern.ts keeps the bytes of the label values it holds, at their exact length: a 37-byte
// span name takes 37 bytes, not the runtime's 40-byte size class (runtime.ts). Values of up to
// SHORT_MAX bytes (most label values) are cut end to end from chunks taken from the heap: the
// first SMALL_CHUNKS are SMALL_CHUNK-byte blocks of a class the runtime keeps a page of anyway
// (a core holding few values takes no page for them), then 64 KiB pages. A freed value goes to
// the free list of its length, from which the next value of that length is taken at once: values
// a sweep freed and the next request interns again (a flood's) reuse the same bytes, and the
// memory stays flat, whatever stays around them. A free block holds the next free block's address
// (u32, unaligned) in its first bytes, so a block is at least MIN_BLOCK bytes (values of 1 to 3
// bytes take 4); the rest of a chunk too short for a value becomes a free block of its own size.
// Blocks are neither split nor merged and chunks are never given back, as with the runtime's
// class pages. Longer values are heap blocks, as before.

/** Longest value kept in the chunks; longer ones are heap blocks (8-byte or quarter-doubling classes). */
const SHORT_MAX: usize = 63;
const MIN_BLOCK: usize = 4;
const PAGE: usize = 65536;
const SMALL_CHUNK: usize = 256;
const SMALL_CHUNKS: u32 = 256;
let chunks: u32 = 0;

/** Per block size (0 … SHORT_MAX), the first free block (u32, 0: none); allocated at first use (256 bytes). */
let heads: usize = 0;
/** The next unused byte of the current chunk, and its end. */
let next: usize = 0;
let end: usize = 0;

// @ts-ignore: decorator
@inline function blockOf(n: usize): usize {
  return n < MIN_BLOCK ? MIN_BLOCK : n;
}

// @ts-ignore: decorator
@inline function push(q: usize, size: usize): void {
  let h = heads + (size << 2);
  store<u32>(q, load<u32>(h));
  store<u32>(h, <u32>q);
}

/** A copy of the n (1 … intern's MAX_VALUE_BYTES) bytes at p. */
export function storeBytes(p: usize, n: usize): usize {
  let q: usize;
  if (n > SHORT_MAX) {
    q = heap.alloc(n);
  } else {
    if (heads == 0) {
      heads = heap.alloc((SHORT_MAX + 1) << 2);
      memory.fill(heads, 0, (SHORT_MAX + 1) << 2);
    }
    let size = blockOf(n);
    let h = heads + (size << 2);
    q = <usize>load<u32>(h);
    if (q != 0) {
      store<u32>(h, load<u32>(q));
    } else {
      if (next + size > end) {
        // The chunk's rest becomes a free block of its size when it can be one; a new chunk.
        let rest = end - next;
        if (rest >= MIN_BLOCK) push(next, rest);
        let bytes = chunks < SMALL_CHUNKS ? SMALL_CHUNK : PAGE;
        chunks++;
        next = heap.alloc(bytes);
        end = next + bytes;
      }
      q = next;
      next += size;
    }
  }
  memory.copy(q, p, n);
  return q;
}

/** Frees the copy at q of a value of n bytes (storeBytes'). */
export function freeBytes(q: usize, n: usize): void {
  if (n > SHORT_MAX) heap.free(q);
  else push(q, blockOf(n));
}
