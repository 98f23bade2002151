// A test entry, not part of the core: test/core/hll.test.ts compiles it on its own to drive
// assembly/hll.ts with known sets of values, hashed as the core hashes label values (SipHash-1-3
// of the bytes, hash.ts, then mix64).
import { hashBytes, setHashKey } from '../hash';
import { HLL_BYTES, HLL_M, clearSketch, addToSketch, sketchEstimate, mix64, windowBytes, initWindow, addToWindow, windowEstimate, advanceWindow } from '../hll';

const SKETCH: usize = heap.alloc(HLL_BYTES);
const WINDOW: usize = heap.alloc(windowBytes(3));
const INPUT: usize = heap.alloc(256);

export function input(): usize {
  return INPUT;
}
export function registers(): u32 {
  return HLL_M;
}
export function key(k0: u64, k1: u64): void {
  setHashKey(k0, k1);
}
export function reset(): void {
  clearSketch(SKETCH);
  initWindow(WINDOW, 3);
}
/** Adds the `n` bytes at input() to the sketch and to the window. */
export function add(n: usize): void {
  let h = mix64(<u64>hashBytes(INPUT, n));
  addToSketch(SKETCH, h);
  addToWindow(WINDOW, h);
}
export function estimate(): f64 {
  return sketchEstimate(SKETCH);
}
export function window_estimate(): f64 {
  return windowEstimate(WINDOW);
}
export function advance(): void {
  advanceWindow(WINDOW);
}
