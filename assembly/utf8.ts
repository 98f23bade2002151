// UTF-8 checks for strings that become label values. Only run when a string is first
// interned, so the hot path never pays for it.

/** Length of the longest prefix of [p, p+n) that is at most `max` bytes and does not cut a character. */
export function clampToBoundary(p: usize, n: usize, max: usize): usize {
  if (n <= max) return n;
  let m = max;
  // Back off the continuation bytes (10xxxxxx) of one character at most: a longer run is not
  // one character, and is repaired byte by byte anyway.
  for (let k = 0; k < 3 && m > 0 && (load<u8>(p + m) & 0xc0) == 0x80; k++) m--;
  return m;
}

/**
 * The sequence starting at p, decoded as the WHATWG UTF-8 decoder does: the length of a valid
 * character (1..4), or -k for an invalid one, where k bytes (a lead byte and the continuation
 * bytes that fit it, at least 1) make one U+FFFD.
 */
function sequenceLength(p: usize, end: usize): i32 {
  let b0 = <u32>load<u8>(p);
  if (b0 < 0x80) return 1;
  let need: i32;
  let lo: u32 = 0x80;
  let hi: u32 = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 == 0xe0) lo = 0xa0;
    else if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 == 0xf0) lo = 0x90;
    else if (b0 == 0xf4) hi = 0x8f;
  } else return -1;
  let i: i32 = 1;
  while (i <= need) {
    if (p + <usize>i >= end) return -i;
    let b = <u32>load<u8>(p + <usize>i);
    if (b < lo || b > hi) return -i;
    lo = 0x80;
    hi = 0xbf;
    i++;
  }
  return need + 1;
}

export function isValidUtf8(p: usize, n: usize): bool {
  let end = p + n;
  while (p < end) {
    if (load<u8>(p) < 0x80) { p++; continue; }
    let k = sequenceLength(p, end);
    if (k < 0) return false;
    p += <usize>k;
  }
  return true;
}

/**
 * Copies [p, p+n) to `dst` with each invalid sequence replaced by one U+FFFD, as TextDecoder
 * does, writing at most `cap` bytes. Returns the bytes written.
 */
export function sanitizeUtf8(p: usize, n: usize, dst: usize, cap: usize): usize {
  let end = p + n;
  let w: usize = 0;
  while (p < end) {
    let k = sequenceLength(p, end);
    if (k < 0) {
      if (w + 3 > cap) break;
      store<u8>(dst + w, 0xef);
      store<u8>(dst + w + 1, 0xbf);
      store<u8>(dst + w + 2, 0xbd);
      w += 3;
      p += <usize>-k;
    } else {
      if (w + <usize>k > cap) break;
      memory.copy(dst + w, p, <usize>k);
      w += <usize>k;
      p += <usize>k;
    }
  }
  return w;
}
