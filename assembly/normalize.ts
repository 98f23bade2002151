// Span-name normalisation (processor.span_metrics.span_name_normalization): ids in path-like
// span names become placeholders, deterministically (the same name gives the same result on
// every instance), before the span-metrics series lookup.
//
// A name is path-like when it holds a '/'. Its query string and fragment ('?' or '#' on) are
// dropped. It is cut into segments at '/', ' ', '&', '=', ';' and ','; a segment that is a UUID
// (8-4-4-4-12 hex digits) becomes {uuid}, one that looks like an e-mail address (a '@' with
// text before it and a '.' after it) {email}; any other is cut into tokens at '.', '-', '_',
// ':', '+' and '~', and a token of decimal digits becomes {id}, one of 8 or more hex digits
// with a digit among them {hex}, one of 16 or more letters and digits with both {token}.
// With on, a path-like name is replaced by the span's http.route when it has one (as
// "METHOD route" when the name starts with an upper-case method and a space).
//
// Per span the work is a lookup: the normalised id is cached per interned name id, in an
// array indexed by id that is cleared whenever the string table frees ids (intern.ts
// freeEpoch). Only names the string table could not hold (past the series limit) are
// normalised from their bytes each time.
import { intern, stringPtr, stringLen, freeEpoch, MISSING, MAX_VALUE_BYTES } from './intern';
import { spanNameId, spanSlot } from './attributes';
import { valuePtr, valueLen } from './labelvalue';
import { slotValue } from './attributes';
import { SPAN_NAME_PTR, SPAN_NAME_LEN } from './staging';
import { NORMALIZE_OFF, NORMALIZE_ON } from './layout';


export let mode: u32 = NORMALIZE_OFF;
let routeSlot: i32 = -1;

const OUT_CAP: usize = MAX_VALUE_BYTES * 4 + 16;
const OUT: usize = memory.data(<i32>OUT_CAP);
let out: usize = 0; // bytes written to OUT

let cache: usize = 0; // u32 per string id: normalised id + 1, 0 = not computed
let cacheCap: u32 = 0;
let cacheEpoch: u32 = 0;

/** The mode and the http.route attribute's watched slot (-1: none), before start. */
export function configureNormalization(m: u32, slot: i32): void {
  mode = m;
  routeSlot = slot;
}

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}
// @ts-ignore: decorator
@inline function isHex(c: u32): bool {
  return c - 0x30 < 10 || (c | 0x20) - 0x61 < 6;
}
// @ts-ignore: decorator
@inline function isLetter(c: u32): bool {
  return (c | 0x20) - 0x61 < 26;
}
// @ts-ignore: decorator
@inline function isSegmentEnd(c: u32): bool {
  return c == 0x2f || c == 0x20 || c == 0x26 || c == 0x3d || c == 0x3b || c == 0x2c; // / space & = ; ,
}
// @ts-ignore: decorator
@inline function isTokenEnd(c: u32): bool {
  return c == 0x2e || c == 0x2d || c == 0x5f || c == 0x3a || c == 0x2b || c == 0x7e; // . - _ : + ~
}

function put(c: u32): void {
  store<u8>(OUT + out, <u8>c);
  out++;
}

// "{id}" "{hex}" "{uuid}" "{email}" "{token}"
function putWord(w: string): void {
  for (let i = 0; i < w.length; i++) put(<u32>w.charCodeAt(i));
}

function isUuid(p: usize, n: usize): bool {
  if (n != 36) return false;
  for (let i: usize = 0; i < 36; i++) {
    let c = <u32>load<u8>(p + i);
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != 0x2d) return false;
    } else if (!isHex(c)) {
      return false;
    }
  }
  return true;
}

function isEmail(p: usize, n: usize): bool {
  let at: usize = 0;
  for (let i: usize = 1; i < n; i++) {
    if (load<u8>(p + i) == 0x40) {
      at = i;
      break;
    }
  }
  if (at == 0) return false;
  for (let i = at + 2; i + 1 < n; i++) if (load<u8>(p + i) == 0x2e) return true;
  return false;
}

function token(p: usize, n: usize): void {
  let digits: usize = 0;
  let letters: usize = 0;
  let hex = true;
  for (let i: usize = 0; i < n; i++) {
    let c = <u32>load<u8>(p + i);
    if (isDigit(c)) digits++;
    else if (isLetter(c)) letters++;
    if (!isHex(c)) hex = false;
  }
  if (digits == n) putWord('{id}');
  else if (hex && n >= 8 && digits > 0) putWord('{hex}');
  else if (n >= 16 && digits > 0 && letters > 0 && digits + letters == n) putWord('{token}');
  else for (let i: usize = 0; i < n; i++) put(<u32>load<u8>(p + i));
}

function segment(p: usize, n: usize): void {
  if (isUuid(p, n)) {
    putWord('{uuid}');
    return;
  }
  if (isEmail(p, n)) {
    putWord('{email}');
    return;
  }
  let i: usize = 0;
  while (i < n) {
    let c = <u32>load<u8>(p + i);
    if (isTokenEnd(c)) {
      put(c);
      i++;
      continue;
    }
    let j = i;
    while (j < n && !isTokenEnd(<u32>load<u8>(p + j))) j++;
    token(p + i, j - i);
    i = j;
  }
}

/** Whether [p, p+n) holds a '/'. */
function pathLike(p: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) == 0x2f) return true;
  return false;
}

/** Normalises [p, p+n) into OUT; returns the length (the name as it is when not path-like). */
export function normalizeBytes(p: usize, n: usize): usize {
  if (n > MAX_VALUE_BYTES) n = MAX_VALUE_BYTES;
  out = 0;
  if (!pathLike(p, n)) {
    memory.copy(OUT, p, n);
    return n;
  }
  let i: usize = 0;
  while (i < n) {
    let c = <u32>load<u8>(p + i);
    if (c == 0x3f || c == 0x23) break; // ? #
    if (isSegmentEnd(c)) {
      put(c);
      i++;
      continue;
    }
    let j = i;
    while (j < n) {
      let d = <u32>load<u8>(p + j);
      if (isSegmentEnd(d) || d == 0x3f || d == 0x23) break;
      j++;
    }
    segment(p + i, j - i);
    i = j;
  }
  return out;
}

/** The id of the normalised form of string `id` (itself when unchanged; MISSING when it could not be held). */
export function normalizedName(id: u32): u32 {
  if (id == 0 || id == MISSING) return id;
  if (cacheEpoch != freeEpoch) {
    if (cache != 0) memory.fill(cache, 0, <usize>cacheCap << 2);
    cacheEpoch = freeEpoch;
  }
  if (id >= cacheCap) {
    let cap = cacheCap == 0 ? <u32>1024 : cacheCap;
    while (cap <= id) cap <<= 1;
    cache = cache == 0 ? heap.alloc(<usize>cap << 2) : heap.realloc(cache, <usize>cap << 2);
    memory.fill(cache + (<usize>cacheCap << 2), 0, <usize>(cap - cacheCap) << 2);
    cacheCap = cap;
  }
  let e = cache + (<usize>id << 2);
  let held = load<u32>(e);
  if (held != 0) return held - 1;
  let n = normalizeBytes(stringPtr(id), stringLen(id));
  let norm = n == stringLen(id) && memory.compare(OUT, stringPtr(id), n) == 0 ? id : intern(OUT, n);
  if (norm != MISSING) store<u32>(e, norm + 1);
  return norm;
}

/** The span-name id span metrics use for `span` under the mode (with on: normalised, or its http.route). */
// @ts-ignore: decorator
@inline export function spanMetricsNameId(span: usize): u32 {
  return mode != NORMALIZE_ON ? spanNameId(span) : normalizedSpanName(span);
}

function normalizedSpanName(span: usize): u32 {
  let p = <usize>load<u32>(span, SPAN_NAME_PTR);
  let n = <usize>load<u32>(span, SPAN_NAME_LEN);
  if (routeSlot >= 0) {
    let s = spanSlot(span, routeSlot);
    if (s != 0 && pathLike(p, n)) {
      slotValue(s);
      if (valueLen != 0) return routeName(p, n, valuePtr, valueLen);
    }
  }
  let id = spanNameId(span);
  if (id != MISSING) return normalizedName(id);
  return intern(OUT, normalizeBytes(p, n));
}

/** "METHOD route" when the name starts with upper-case letters and a space, else the route. */
function routeName(p: usize, n: usize, route: usize, routeLen: usize): u32 {
  let m: usize = 0;
  while (m < n && m < 16 && <u32>load<u8>(p + m) - 0x41 < 26) m++;
  if (m == 0 || m >= n || load<u8>(p + m) != 0x20) m = 0;
  else m++;
  if (routeLen > MAX_VALUE_BYTES) routeLen = MAX_VALUE_BYTES;
  memory.copy(OUT, p, m);
  memory.copy(OUT + m, route, routeLen);
  return intern(OUT, m + routeLen);
}
