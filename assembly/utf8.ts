// UTF-8 checks for strings that become label values. Only run when a string is first
// interned, so the hot path never pays for it.

/** Length of the longest prefix of [p, p+n) that is at most `max` bytes and ends on a character boundary. */
export function clampToBoundary(p: usize, n: usize, max: usize): usize {
  if (n <= max) return n;
  let m = max;
  // Back off continuation bytes (10xxxxxx) so a character is never cut in half.
  while (m > 0 && (load<u8>(p + m) & 0xc0) == 0x80) m--;
  return m;
}

/** Length of the valid UTF-8 sequence starting at p (1..4), or 0 if invalid. */
function sequenceLength(p: usize, end: usize): usize {
  let b0 = <u32>load<u8>(p);
  if (b0 < 0x80) return 1;
  let need: usize;
  let min: u32;
  if ((b0 & 0xe0) == 0xc0) { need = 2; min = 0x80; b0 &= 0x1f; }
  else if ((b0 & 0xf0) == 0xe0) { need = 3; min = 0x800; b0 &= 0x0f; }
  else if ((b0 & 0xf8) == 0xf0) { need = 4; min = 0x10000; b0 &= 0x07; }
  else return 0;
  if (end - p < need) return 0;
  let cp = b0;
  for (let i: usize = 1; i < need; i++) {
    let b = <u32>load<u8>(p + i);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return need;
}

export function isValidUtf8(p: usize, n: usize): bool {
  let end = p + n;
  while (p < end) {
    if (load<u8>(p) < 0x80) { p++; continue; }
    let k = sequenceLength(p, end);
    if (k == 0) return false;
    p += k;
  }
  return true;
}

/**
 * Copies [p, p+n) to `dst` with each invalid byte replaced by U+FFFD, as a browser's
 * TextDecoder does, writing at most `cap` bytes. Returns the bytes written.
 */
export function sanitizeUtf8(p: usize, n: usize, dst: usize, cap: usize): usize {
  let end = p + n;
  let w: usize = 0;
  while (p < end) {
    let k = sequenceLength(p, end);
    if (k == 0) {
      if (w + 3 > cap) break;
      store<u8>(dst + w, 0xef);
      store<u8>(dst + w + 1, 0xbf);
      store<u8>(dst + w + 2, 0xbd);
      w += 3;
      p += 1;
    } else {
      if (w + k > cap) break;
      memory.copy(dst + w, p, k);
      w += k;
      p += k;
    }
  }
  return w;
}
