// A memo in front of slotValueId (attributes.ts) for the name a database edge takes
// (edgelabels.ts upsertDatabase: peer.service, server.address or the database attribute):
// a direct-mapped table of MEMO_SLOTS entries, each an AnyValue message's bytes (8 to MAX_BYTES
// of them) and the id intern() gave its value. The id is valid while intern's freeEpoch is the
// one stored with it: a string is only freed by sweepStrings, which bumps freeEpoch. For the
// same bytes, intern() answers the same id for as long as that id lives (one id per distinct
// value), so a hit answers what slotValueId would; MISSING (read-only mode) is never kept.
// A database name repeats on every call to that database: a hit skips formatting the AnyValue
// and intern's hash and compare (callgrind, bench workload: ~300 instructions per database span).
import { freeEpoch, MISSING } from './intern';
import { slotValueId } from './attributes';

const MEMO_SLOTS: usize = 64;
const MAX_BYTES: usize = 48;
// Entry: byte count u32 (0: empty), freeEpoch u32, id u32, pad u32, then the bytes.
const M_LEN: usize = 0;
const M_EPOCH: usize = 4;
const M_ID: usize = 8;
const M_BYTES: usize = 16;
const ENTRY: usize = M_BYTES + MAX_BYTES;
const MEMO: usize = memory.data(<i32>(MEMO_SLOTS * ENTRY));

/** slotValueId(s) for watched-attribute slot record `s` (non-zero), through the memo. */
// @ts-ignore: decorator
@inline export function memoValueId(s: usize): u32 {
  let p = <usize>load<u32>(s);
  let n = <usize>load<u32>(s, 4);
  if (n < 8 || n > MAX_BYTES) return slotValueId(s);
  let first = load<u64>(p);
  let last = load<u64>(p + n - 8);
  // The slot by the first, second and last 8 bytes and the length (64 slots: the top 6 bits).
  // Without the second word, values alike at both ends took one slot and evicted each other: host
  // names of one domain (the bench's redis-recs, redis-cart and redis-auth.shop.svc.cluster.local),
  // a miss formatting and interning the value (~300 instructions).
  let second = load<u64>(p + (n > 16 ? 8 : n - 8));
  let m = MEMO + <usize>(((first ^ rotl<u64>(second, 31) ^ last ^ <u64>n) * 0x9e3779b97f4a7c15) >>> 58) * ENTRY;
  // All n bytes as six 8-byte words at 0, 8, 16, 24, 32 and n - 8, each offset clipped to n - 8 (n <=
  // MAX_BYTES = 48): no loop (as a loop, V8 spent ~40 instructions a hit on its bounds and checks);
  // only once the length and epoch match (computed before that test, V8 spilled the words).
  if (<usize>load<u32>(m, M_LEN) == n && load<u32>(m, M_EPOCH) == freeEpoch) {
    let e = n - 8;
    let o1: usize = e > 8 ? <usize>8 : e;
    let o2: usize = e > 16 ? <usize>16 : e;
    let o3: usize = e > 24 ? <usize>24 : e;
    let o4: usize = e > 32 ? <usize>32 : e;
    let q = m + M_BYTES;
    let d = (load<u64>(q) ^ first) | (load<u64>(q + e) ^ last) | (load<u64>(q + o1) ^ load<u64>(p + o1))
      | (load<u64>(q + o2) ^ load<u64>(p + o2)) | (load<u64>(q + o3) ^ load<u64>(p + o3)) | (load<u64>(q + o4) ^ load<u64>(p + o4));
    if (d == 0) return load<u32>(m, M_ID);
  }
  let id = slotValueId(s);
  if (id != MISSING) {
    store<u32>(m, <u32>n, M_LEN);
    store<u32>(m, freeEpoch, M_EPOCH);
    store<u32>(m, id, M_ID);
    for (let i: usize = 0; i + 8 < n; i += 8) store<u64>(m + M_BYTES + i, load<u64>(p + i));
    store<u64>(m + M_BYTES + n - 8, last);
  }
  return id;
}
