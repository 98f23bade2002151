// Shortest round-trip digits of a double: Ryū (Ulf Adams, "Ryū: fast float-to-string
// conversion", PLDI 2018), written for AssemblyScript without allocation.
//
// For a finite v, shortestDigits(v) writes the decimal digits d (ASCII, no leading or trailing
// zeros) to DIGITS and sets digitsExponent to e so that |v| = d × 10^e is the shortest decimal
// that reads back as |v| (round to nearest, ties to even), and among the shortest the closest to
// |v|, ties to an even last digit. These are the digits of JavaScript's Number#toString and of
// Go's strconv.FormatFloat(v, 'f', -1, 64). The sign is not looked at; NaN and ±Inf are the
// caller's business.
//
// Outline. With |v| = m2 · 2^e2' the numbers that read back as v lie between the midpoints to its
// neighbours. Scaling by 4 makes those integers too: |v| = mv · 2^e2 with mv = 4·m2, upper
// midpoint mp = mv + 2, lower midpoint mm = mv − 2 (mv − 1 below a power of two, where the gap
// below is half the gap above), e2 = e2' − 2. Both midpoints belong to the interval when m2 is
// even (a tie reads back to the even mantissa). Pick a decimal exponent e10 and compute
//   vr = ⌊mv·2^e2 / 10^e10⌋,  vp = ⌊mp·2^e2 / 10^e10⌋,  vm = ⌊mm·2^e2 / 10^e10⌋
// with one 64 × 128-bit multiplication each by a 125-bit approximation of 5^±k; the paper shows
// the approximations are precise enough for these floors to be exact for every double. Then
// drop decimal digits from all three while vp and vm still differ in the digits kept, and round
// vr by the last digit dropped. Whether the dropped digits of vr and vm were all zero (the
// exact value is a tie, the lower bound is reached exactly) is tracked for the rare cases
// where that matters.
//
// The two tables (5^i rounded down to 125 bits; 2^k / 5^q rounded up, k such that it has 125 or
// 126 bits) are computed once at start-up from exact big integers held in static memory.

const POW5_BITCOUNT: i32 = 125;
/** 5^i for i ≤ 325 (e2 < 0: i = −e2 − q; e2 ≥ −1076). */
const POW5_COUNT: i32 = 326;
/** 5^−q for q ≤ 290 (e2 ≥ 0: q = ⌊e2·log10 2⌋ − 1; e2 ≤ 969). */
const POW5_INV_COUNT: i32 = 291;

// Table entries are u64 pairs: low half, then high half.
const POW5: usize = memory.data(POW5_COUNT * 16, 16);
const POW5_INV: usize = memory.data(POW5_INV_COUNT * 16, 16);

/** The digits of the last shortestDigits call, ASCII, most significant first. */
export const DIGITS: usize = memory.data(32);
/** The decimal exponent of the last shortestDigits call: |v| = DIGITS × 10^digitsExponent. */
export let digitsExponent: i32 = 0;

// ---------------------------------------------------------------------------------------------
// Integer logarithms, exact over the ranges used here (checked against big integers).

/** ⌊e · log10 2⌋ for 0 ≤ e ≤ 1650. */
// @ts-ignore: decorator
@inline function log10Pow2(e: i32): i32 {
  return <i32>((<u32>e * 78913) >>> 18);
}

/** ⌊e · log10 5⌋ for 0 ≤ e ≤ 2620. */
// @ts-ignore: decorator
@inline function log10Pow5(e: i32): i32 {
  return <i32>((<u32>e * 732923) >>> 20);
}

/** The bit length of 5^e, ⌈e · log2 5⌉ (1 for e = 0), for 0 ≤ e ≤ 3528. */
// @ts-ignore: decorator
@inline function pow5bits(e: i32): i32 {
  return <i32>((<u32>e * 1217359) >>> 19) + 1;
}

// ---------------------------------------------------------------------------------------------
// 64 × 128-bit products.

/** The high half of the last umul128 product. */
let productHigh: u64 = 0;

/** a × b as 128 bits: returns the low half, leaves the high half in productHigh. */
// @ts-ignore: decorator
@inline function umul128(a: u64, b: u64): u64 {
  let aLo = a & 0xffffffff, aHi = a >>> 32;
  let bLo = b & 0xffffffff, bHi = b >>> 32;
  let ll = aLo * bLo;
  let lh = aLo * bHi;
  let hl = aHi * bLo;
  let hh = aHi * bHi;
  let mid = hl + (ll >>> 32); // < 2^64: (2^32 − 1)^2 + 2^32 − 1
  let mid2 = lh + (mid & 0xffffffff);
  productHigh = hh + (mid >>> 32) + (mid2 >>> 32);
  return (mid2 << 32) | (ll & 0xffffffff);
}

/** ⌊m × (hi·2^64 + lo) / 2^j⌋ for 64 < j < 128, when the result fits in 64 bits. */
function mulShift(m: u64, lo: u64, hi: u64, j: i32): u64 {
  umul128(m, lo);
  let low = productHigh; // ⌊m·lo / 2^64⌋: the low 64 bits of m·lo are below the shift
  let midLo = umul128(m, hi);
  let midHi = productHigh;
  let sumLo = midLo + low;
  let sumHi = midHi + <u64>(sumLo < low); // ⌊m × mul / 2^64⌋ = sumHi·2^64 + sumLo
  let s = <u64>(j - 64); // 54 ≤ s ≤ 61 for binary64
  return (sumLo >>> s) | (sumHi << (64 - s));
}

// ---------------------------------------------------------------------------------------------
// The tables, from exact big integers: 32-bit limbs, least significant first, in BIG.

const LIMBS: i32 = 27; // 864 bits: holds 2^832 and 5^325 (755 bits)
const BIG: usize = memory.data(LIMBS * 4, 8);
/** The exponent of the power of two divided by 5 again and again for the inverse table. */
const INV_BASE: i32 = 832; // ≥ the largest k, 798

function limb(i: i32): u64 {
  return i >= 0 && i < LIMBS ? <u64>load<u32>(BIG + (<usize>i << 2)) : 0;
}

/** Bits [at, at + 64) of BIG; bits below 0 read as zeros. */
function bitsAt(at: i32): u64 {
  let i = at >> 5; // floor division, also for negative at
  let off = <u64>(at & 31);
  let r = (limb(i) | (limb(i + 1) << 32)) >>> off;
  if (off != 0) r |= limb(i + 2) << (64 - off);
  return r;
}

function bigSet(bit: i32): void {
  memory.fill(BIG, 0, <usize>LIMBS << 2);
  store<u32>(BIG + (<usize>(bit >> 5) << 2), <u32>1 << <u32>(bit & 31));
}

function bigTimes5(): void {
  let carry: u64 = 0;
  for (let i = 0; i < LIMBS; i++) {
    let p = BIG + (<usize>i << 2);
    let x = <u64>load<u32>(p) * 5 + carry;
    store<u32>(p, <u32>x);
    carry = x >>> 32;
  }
}

/** BIG = ⌊BIG / 5⌋. */
function bigDiv5(): void {
  let rem: u64 = 0;
  for (let i = LIMBS - 1; i >= 0; i--) {
    let p = BIG + (<usize>i << 2);
    let x = (rem << 32) | <u64>load<u32>(p);
    let d = x / 5;
    store<u32>(p, <u32>d);
    rem = x - d * 5;
  }
}

function computeTables(): void {
  // POW5[i] = ⌊5^i / 2^(pow5bits(i) − 125)⌋: the top 125 bits of 5^i (5^i shifted up when shorter).
  bigSet(0);
  for (let i = 0; i < POW5_COUNT; i++) {
    let s = pow5bits(i) - POW5_BITCOUNT;
    let t = POW5 + (<usize>i << 4);
    store<u64>(t, bitsAt(s));
    store<u64>(t, bitsAt(s + 64), 8);
    bigTimes5();
  }
  // POW5_INV[q] = ⌊2^k / 5^q⌋ + 1 with k = pow5bits(q) − 1 + 125. BIG runs through ⌊2^832 / 5^q⌋,
  // and ⌊⌊2^832 / 5^q⌋ / 2^(832 − k)⌋ = ⌊2^k / 5^q⌋.
  bigSet(INV_BASE);
  for (let q = 0; q < POW5_INV_COUNT; q++) {
    let s = INV_BASE - (pow5bits(q) - 1 + POW5_BITCOUNT);
    let lo = bitsAt(s) + 1;
    let hi = bitsAt(s + 64) + <u64>(lo == 0);
    let t = POW5_INV + (<usize>q << 4);
    store<u64>(t, lo);
    store<u64>(t, hi, 8);
    bigDiv5();
  }
}

computeTables();

// ---------------------------------------------------------------------------------------------
// Divisibility of the exact products, for the trailing-zero flags.

/** Whether 5^p divides x (x > 0). */
function multipleOfPow5(x: u64, p: i32): bool {
  let n = 0;
  while (n < p) {
    let d = x / 5;
    if (x != d * 5) return false;
    x = d;
    n++;
  }
  return true;
}

/** Whether 2^p divides x (x > 0). */
// @ts-ignore: decorator
@inline function multipleOfPow2(x: u64, p: i32): bool {
  return <i32>ctz(x) >= p;
}

// ---------------------------------------------------------------------------------------------

/**
 * Writes the shortest, closest digits of |v| (finite) to DIGITS, their decimal exponent to
 * digitsExponent, and returns the digit count (at most 17). Zero gives "0" and exponent 0.
 */
export function shortestDigits(v: f64): i32 {
  let bits = reinterpret<u64>(v);
  let fraction = bits & 0x000fffffffffffff;
  let biased = <i32>((bits >>> 52) & 0x7ff);
  if (biased == 0 && fraction == 0) {
    store<u8>(DIGITS, 0x30);
    digitsExponent = 0;
    return 1;
  }
  // |v| = m2 · 2^(e2 + 2); mv, mp and mm are 4·m2 and its midpoints, in units of 2^e2.
  let m2: u64, e2: i32;
  if (biased == 0) {
    m2 = fraction;
    e2 = 1 - 1075 - 2;
  } else {
    m2 = fraction | (<u64>1 << 52);
    e2 = biased - 1075 - 2;
  }
  let acceptBounds = (m2 & 1) == 0;
  let mv = m2 << 2;
  let mp = mv + 2;
  let mm = mv - (fraction != 0 || biased <= 1 ? 2 : 1);

  let vr: u64, vp: u64, vm: u64;
  let e10: i32;
  // The dropped digits of vr are all zero (vr exact so far); vm is exactly the lower bound.
  let vrExact = false;
  let vmExact = false;
  if (e2 >= 0) {
    // 10^e10 = 10^q divides out: multiply by 2^k / 5^q, shift by k + q − e2.
    let q = log10Pow2(e2) - <i32>(e2 > 3);
    e10 = q;
    let j = -e2 + q + pow5bits(q) - 1 + POW5_BITCOUNT;
    let t = POW5_INV + (<usize>q << 4);
    let lo = load<u64>(t), hi = load<u64>(t, 8);
    vr = mulShift(mv, lo, hi, j);
    vp = mulShift(mp, lo, hi, j);
    vm = mulShift(mm, lo, hi, j);
    // x · 2^e2 / 10^q with e2 ≥ q is an integer iff 5^q divides x; no x < 2^55 has a factor 5^24.
    if (q <= 23) {
      vrExact = multipleOfPow5(mv, q);
      if (acceptBounds) vmExact = multipleOfPow5(mm, q);
      else vp -= <u64>multipleOfPow5(mp, q); // the upper bound itself is out
    }
  } else {
    // e10 = e2 + q < 0: x · 2^e2 / 10^e10 = x · 5^i / 2^q with i = −e2 − q.
    let q = log10Pow5(-e2) - <i32>(-e2 > 1);
    e10 = q + e2;
    let i = -e2 - q;
    let j = q - (pow5bits(i) - POW5_BITCOUNT);
    let t = POW5 + (<usize>i << 4);
    let lo = load<u64>(t), hi = load<u64>(t, 8);
    vr = mulShift(mv, lo, hi, j);
    vp = mulShift(mp, lo, hi, j);
    vm = mulShift(mm, lo, hi, j);
    // x · 5^i / 2^q is an integer iff 2^q divides x.
    if (q < 64) {
      vrExact = multipleOfPow2(mv, q);
      if (acceptBounds) vmExact = multipleOfPow2(mm, q);
      else vp -= <u64>multipleOfPow2(mp, q);
    }
  }

  // Drop digits while a shorter number still lies in the interval (vm, vp] (or [vm, vp] when vm
  // is exactly an inclusive bound).
  let removed: i32 = 0;
  let output: u64;
  if (vrExact || vmExact) {
    let lastDigit: u64 = 0;
    while (true) {
      let vpDiv = vp / 10, vmDiv = vm / 10;
      if (vpDiv <= vmDiv) break;
      let vrDiv = vr / 10;
      vmExact = vmExact && vm - vmDiv * 10 == 0;
      vrExact = vrExact && lastDigit == 0;
      lastDigit = vr - vrDiv * 10;
      vr = vrDiv; vp = vpDiv; vm = vmDiv;
      removed++;
    }
    if (vmExact) {
      // The lower bound is a candidate: take away its trailing zeros too.
      while (true) {
        let vmDiv = vm / 10;
        if (vm - vmDiv * 10 != 0) break;
        let vrDiv = vr / 10;
        vrExact = vrExact && lastDigit == 0;
        lastDigit = vr - vrDiv * 10;
        vr = vrDiv; vp = vp / 10; vm = vmDiv;
        removed++;
      }
    }
    // Exactly half way: round to even.
    if (vrExact && lastDigit == 5 && (vr & 1) == 0) lastDigit = 4;
    output = vr + <u64>((vr == vm && (!acceptBounds || !vmExact)) || lastDigit >= 5);
  } else {
    // The common case: the exact value is not a tie and vm is outside the interval.
    let roundUp = false;
    let vpDiv = vp / 100, vmDiv = vm / 100;
    if (vpDiv > vmDiv) {
      let vrDiv = vr / 100;
      roundUp = vr - vrDiv * 100 >= 50;
      vr = vrDiv; vp = vpDiv; vm = vmDiv;
      removed += 2;
    }
    while (true) {
      vpDiv = vp / 10;
      vmDiv = vm / 10;
      if (vpDiv <= vmDiv) break;
      let vrDiv = vr / 10;
      roundUp = vr - vrDiv * 10 >= 5;
      vr = vrDiv; vp = vpDiv; vm = vmDiv;
      removed++;
    }
    output = vr + <u64>(vr == vm || roundUp);
  }
  digitsExponent = e10 + removed;

  let n: i32 = 1;
  let bound: u64 = 10;
  while (n < 20 && output >= bound) {
    n++;
    bound *= 10;
  }
  let p = DIGITS + <usize>n;
  do {
    let d = output / 10;
    store<u8>(--p, <u8>(0x30 + <u32>(output - d * 10)));
    output = d;
  } while (output != 0);
  return n;
}
