// The core's memory allocator: asconfig.json names this file as the runtime, so heap.alloc,
// heap.realloc and heap.free everywhere else land here. It replaces AssemblyScript's TLSF,
// which doubles the linear memory whenever it runs out (a core needing 30 MB grew to 64 MB;
// linear memory never shrinks). Here memory grows by what is asked, rounded up to GROW_PAGES.
// The core allocates no managed objects, so the collector entry points only trap.
//
// The heap is cut into 64 KiB pages from the first page boundary after the static data; the
// first pages hold INFO, one u32 per page of the 4 GiB address space.
// - A small block (up to SMALL_MAX bytes) comes from a page of one size class (8-byte steps up
//   to 256, then four classes per doubling) and has no header: its page's INFO names the class.
//   Freed small blocks go to their class's list; a class page stays that class.
// - A large block is a run of whole pages, its address the first page's (INFO: the length).
//   Freed runs merge with free neighbours, go back to the untouched end when they reach it,
//   or wait in one list, taken best-fit and split.
// Blocks are 8-byte aligned (runs 64 KiB aligned) and not zeroed, as with TLSF.

// @ts-ignore: decorator
@inline const PAGE_BITS: u32 = 16;
// @ts-ignore: decorator
@inline const PAGE: usize = 65536;
// @ts-ignore: decorator
@inline const MAX_PAGES: u32 = 65536;
/** Pages added at least per memory.grow (512 KiB): few grows, little slack. */
// @ts-ignore: decorator
@inline const GROW_PAGES: i32 = 8;
// @ts-ignore: decorator
@inline const SMALL_MAX: usize = 32768;
/** Classes 1..32: 8 … 256 bytes; 33..60: four per doubling up to SMALL_MAX. */
// @ts-ignore: decorator
@inline const CLASSES: u32 = 60;
// INFO of a page: kind in the low byte, run length in pages above it.
// @ts-ignore: decorator
@inline const K_USED: u32 = 0xfe;
// @ts-ignore: decorator
@inline const K_FREE: u32 = 0xff;

// Per class: head of the free list, next unused byte and end of the class's current page.
const FREE_HEAD: usize = memory.data(<i32>(CLASSES + 1) * 4);
const BUMP: usize = memory.data(<i32>(CLASSES + 1) * 4);
const BUMP_END: usize = memory.data(<i32>(CLASSES + 1) * 4);

let info: usize = 0;
let firstPage: u32 = 0;
/** Pages at and above top were never handed out, or were all given back. */
let top: u32 = 0;
/** First free run (its first page holds the next and previous runs' first pages + 1). */
let freeRuns: u32 = 0;

function init(): void {
  let start = <u32>((__heap_base + PAGE - 1) >> PAGE_BITS);
  let infoPages = (MAX_PAGES * 4) >> PAGE_BITS;
  info = <usize>start << PAGE_BITS;
  firstPage = start + infoPages;
  top = firstPage;
  ensure(top); // fresh pages: INFO starts zeroed
}

// @ts-ignore: decorator
@inline function infoOf(page: u32): u32 {
  return load<u32>(info + (<usize>page << 2));
}
// @ts-ignore: decorator
@inline function setInfo(page: u32, v: u32): void {
  store<u32>(info + (<usize>page << 2), v);
}

/** Grows memory so that pages below `end` exist. */
function ensure(end: u32): void {
  let have = <u32>memory.size();
  if (end <= have) return;
  if (memory.grow(max<i32>(<i32>(end - have), GROW_PAGES)) < 0 && memory.grow(<i32>(end - have)) < 0) abort('Out of memory');
}

// ---- Runs of pages

// @ts-ignore: decorator
@inline function runAddr(page: u32): usize {
  return <usize>page << PAGE_BITS;
}

function linkRun(page: u32): void {
  let a = runAddr(page);
  store<u32>(a, freeRuns);
  store<u32>(a, 0, 4);
  if (freeRuns != 0) store<u32>(runAddr(freeRuns - 1), page + 1, 4);
  freeRuns = page + 1;
}

function unlinkRun(page: u32): void {
  let a = runAddr(page);
  let next = load<u32>(a);
  let prev = load<u32>(a, 4);
  if (prev != 0) store<u32>(runAddr(prev - 1), next);
  else freeRuns = next;
  if (next != 0) store<u32>(runAddr(next - 1), prev, 4);
}

/** Tags pages [page, page + len) as a free run and lists it. */
function markFree(page: u32, len: u32): void {
  setInfo(page, (len << 8) | K_FREE);
  if (len > 1) setInfo(page + len - 1, (len << 8) | K_FREE);
  linkRun(page);
}

/** Untags and unlists the free run at `page`; answers its length. */
function takeFree(page: u32): u32 {
  let len = infoOf(page) >> 8;
  unlinkRun(page);
  setInfo(page, 0);
  if (len > 1) setInfo(page + len - 1, 0);
  return len;
}

/** A run of n pages tagged `kind` (K_USED, or a class for one page); answers its first page. */
function allocPages(n: u32, kind: u32): u32 {
  if (info == 0) init();
  let best: u32 = 0;
  let bestLen: u32 = 0xffffffff;
  for (let r = freeRuns; r != 0; r = load<u32>(runAddr(r - 1))) {
    let len = infoOf(r - 1) >> 8;
    if (len >= n && len < bestLen) {
      best = r;
      bestLen = len;
      if (len == n) break;
    }
  }
  let page: u32;
  if (best != 0) {
    page = best - 1;
    takeFree(page);
    if (bestLen > n) markFree(page + n, bestLen - n);
  } else {
    page = top;
    ensure(top + n);
    top += n;
  }
  setInfo(page, (n << 8) | kind);
  return page;
}

/** Gives back the run at `page`: merged with free neighbours, returned to the end if it reaches it. */
function freePages(page: u32): void {
  let len = infoOf(page) >> 8;
  setInfo(page, 0);
  let right = page + len;
  if (right < top && (infoOf(right) & 0xff) == K_FREE) len += takeFree(right);
  if (page > firstPage && (infoOf(page - 1) & 0xff) == K_FREE) {
    let left = page - (infoOf(page - 1) >> 8);
    len += takeFree(left);
    page = left;
  }
  if (page + len == top) top = page;
  else markFree(page, len);
}

// ---- Small blocks

/** The class of a small size (1..CLASSES). */
// @ts-ignore: decorator
@inline function classOf(size: usize): u32 {
  if (size <= 256) return size == 0 ? 1 : <u32>((size + 7) >> 3);
  let m = <u32>size - 1;
  let e = 31 - clz<u32>(m); // 8 .. 14
  return 32 + ((e - 8) << 2) + ((m >> (e - 2)) & 3) + 1;
}

function classSize(c: u32): usize {
  if (c <= 32) return <usize>c << 3;
  let k = c - 33;
  let e = (k >> 2) + 8;
  return <usize>(5 + (k & 3)) << (e - 2);
}

function allocSmall(c: u32): usize {
  let h = FREE_HEAD + (<usize>c << 2);
  let p = <usize>load<u32>(h);
  if (p != 0) {
    store<u32>(h, load<u32>(p));
    return p;
  }
  let size = classSize(c);
  let b = BUMP + (<usize>c << 2);
  let e = BUMP_END + (<usize>c << 2);
  p = <usize>load<u32>(b);
  if (p == 0 || p + size > <usize>load<u32>(e)) {
    p = runAddr(allocPages(1, c));
    store<u32>(e, <u32>(p + (PAGE / size) * size));
  }
  store<u32>(b, <u32>(p + size));
  return p;
}

// ---- The runtime's entry points

// @ts-ignore: decorator
@global @unsafe
function __alloc(size: usize): usize {
  if (size <= SMALL_MAX) return allocSmall(classOf(size));
  if (size > (<usize>MAX_PAGES << PAGE_BITS) - PAGE) abort('Allocation too large');
  return runAddr(allocPages(<u32>((size + PAGE - 1) >> PAGE_BITS), K_USED));
}

// @ts-ignore: decorator
@global @unsafe
function __free(ptr: usize): void {
  if (ptr == 0 || info == 0 || ptr < runAddr(firstPage)) return;
  let page = <u32>(ptr >> PAGE_BITS);
  let kind = infoOf(page) & 0xff;
  if (kind == K_USED) {
    freePages(page);
  } else if (kind != 0 && kind <= CLASSES) {
    let h = FREE_HEAD + (<usize>kind << 2);
    store<u32>(ptr, load<u32>(h));
    store<u32>(h, <u32>ptr);
  }
}

// @ts-ignore: decorator
@global @unsafe
function __realloc(ptr: usize, size: usize): usize {
  if (ptr == 0) return __alloc(size);
  let page = <u32>(ptr >> PAGE_BITS);
  let v = infoOf(page);
  let kind = v & 0xff;
  let have: usize;
  if (kind == K_USED) {
    let len = v >> 8;
    have = <usize>len << PAGE_BITS;
    if (size <= have) return ptr;
    let want = <u32>((size + PAGE - 1) >> PAGE_BITS);
    if (page + len == top) {
      // The last run: extend it over the untouched end.
      ensure(page + want);
      top = page + want;
      setInfo(page, (want << 8) | K_USED);
      return ptr;
    }
    let right = page + len;
    if (right < top && (infoOf(right) & 0xff) == K_FREE && len + (infoOf(right) >> 8) >= want) {
      let total = len + takeFree(right);
      if (total > want) markFree(page + want, total - want);
      setInfo(page, (want << 8) | K_USED);
      return ptr;
    }
  } else {
    have = classSize(kind);
    if (size <= have) return ptr;
  }
  let p = __alloc(size);
  memory.copy(p, ptr, have);
  __free(ptr);
  return p;
}

// @ts-ignore: decorator
@global @unsafe
function __reset(): void {
  unreachable();
}

// The core allocates no managed objects: these are never called.

// @ts-ignore: decorator
@global @unsafe
function __new(size: usize, id: u32): usize {
  unreachable();
  return 0;
}

// @ts-ignore: decorator
@global @unsafe
function __renew(oldPtr: usize, size: usize): usize {
  unreachable();
  return 0;
}

// @ts-ignore: decorator
@global @unsafe
function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {}

// @ts-ignore: decorator
@global @unsafe
function __pin(ptr: usize): usize {
  return ptr;
}

// @ts-ignore: decorator
@global @unsafe
function __unpin(ptr: usize): void {}

// @ts-ignore: decorator
@global @unsafe
function __visit(ptr: usize, cookie: u32): void {}

// @ts-ignore: decorator
@global @unsafe
function __collect(): void {}
