// The sampling multiplier a span's W3C tracestate carries: the OpenTelemetry entry `ot=` with a
// rejection threshold `th:` (1 to 14 hex digits, the 56-bit threshold T with zeros appended)
// means the span was kept with probability (2^56 - T) / 2^56, so it stands for 2^56 / (2^56 - T)
// spans (OpenTelemetry's tracestate probability sampling spec). As Tempo's
// enable_tracestate_span_multiplier reads it (pkg/sampling): the first list member starting
// with `ot=` after leading whitespace is taken, its value must pass the `ot` syntax (members
// `key:value` joined by `;`, keys [a-z][a-z0-9]*, values [a-zA-Z0-9._-]*, at most 256 bytes,
// a well-formed th and rv), and with a 14-digit randomness `rv:` a fractional multiplier is
// rounded down or up, up when the top 53 bits of rv, as a fraction, fall under the fraction.
// No usable threshold answers 0 (the caller falls back to the multiplier key, then 1).

const MAX_OT_LENGTH: usize = 256;
const HEX_DIGITS: usize = 14;
const MAX_ADJUSTED_COUNT: f64 = 72057594037927936; // 2^56

// @ts-ignore: decorator
@inline function isSpace(c: u32): bool {
  // Go's strings.TrimSpace on ASCII: tab, newline, vertical tab, form feed, carriage return, space.
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** The value of hex digits [p, p+n) (n <= 14), or -1 when one is not a hex digit. */
function hexValue(p: usize, n: usize): i64 {
  let v: i64 = 0;
  for (let i: usize = 0; i < n; i++) {
    let c = <u32>load<u8>(p + i);
    let d: i64;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** The multiplier of the tracestate at [p, p+n), or 0. */
export function tracestateMultiplier(p: usize, n: usize): f64 {
  let end = p + n;
  // Find the `ot=` member: skip leading whitespace of each member, as Tempo's fast path does.
  let ot: usize = 0;
  let otEnd: usize = 0;
  let q = p;
  while (true) {
    while (q < end && isSpace(load<u8>(q))) q++;
    let comma = q;
    while (comma < end && load<u8>(comma) != 0x2c) comma++;
    if (end - q >= 3 && load<u8>(q) == 0x6f && load<u8>(q, 1) == 0x74 && load<u8>(q, 2) == 0x3d) {
      ot = q + 3;
      otEnd = comma;
      break;
    }
    if (comma >= end) return 0;
    q = comma + 1;
  }
  let len = otEnd - ot;
  if (len == 0 || len > MAX_OT_LENGTH || load<u8>(otEnd - 1) == 0x3b) return 0;
  let threshold: i64 = -1;
  let rv: i64 = -1;
  let m = ot;
  while (m < otEnd) {
    let sep = m;
    while (sep < otEnd && load<u8>(sep) != 0x3b) sep++;
    // key: [a-z][a-z0-9]*, then ':'
    let k = m;
    let c = <u32>load<u8>(k);
    if (c < 0x61 || c > 0x7a) return 0;
    k++;
    while (k < sep) {
      c = <u32>load<u8>(k);
      if (c == 0x3a) break;
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39))) return 0;
      k++;
    }
    if (k >= sep) return 0; // no ':'
    let v = k + 1;
    for (let i = v; i < sep; i++) {
      c = <u32>load<u8>(i);
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x5f || c == 0x2d)) return 0;
    }
    let keyLen = k - m;
    let vn = sep - v;
    if (keyLen == 2 && load<u8>(m) == 0x74 && load<u8>(m, 1) == 0x68) { // th
      if (vn == 0 || vn > HEX_DIGITS) return 0;
      let t = hexValue(v, vn);
      if (t < 0) return 0;
      threshold = t << (<i64>(HEX_DIGITS - vn) * 4);
    } else if (keyLen == 2 && load<u8>(m) == 0x72 && load<u8>(m, 1) == 0x76) { // rv
      if (vn != HEX_DIGITS) return 0;
      rv = hexValue(v, vn);
      if (rv < 0) return 0;
    }
    m = sep + 1;
  }
  if (threshold < 0) return 0;
  // 1 / probability, the probability (2^56 - T) / 2^56 with the difference taken exactly.
  let count = 1 / (<f64>((<i64>1 << 56) - threshold) / MAX_ADJUSTED_COUNT);
  if (rv < 0) return count;
  let whole = Math.floor(count);
  let fraction = count - whole;
  if (fraction == 0) return whole;
  let r = <f64>(<u64>rv >> 3) / 9007199254740992; // the top 53 of 56 bits in [0, 1)
  return r < fraction ? whole + 1 : whole;
}
