// A test entry, not part of the core: test/core/bytes.test.ts compiles it on its own to drive
// assembly/bytes.ts (bytesEqual, the byte-range equality intern's cache hit and the string
// index use) on ranges it lays out in BUFFER.
import { bytesEqual } from '../bytes';

const BUFFER: usize = heap.alloc(1024);

export function buffer(): usize {
  return BUFFER;
}
/** Whether the n bytes at BUFFER + a equal those at BUFFER + b. */
export function same(a: usize, b: usize, n: usize): bool {
  return bytesEqual(BUFFER + a, BUFFER + b, n);
}
