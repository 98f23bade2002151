// A memo in front of series.ts's upsert for the service-graph edges table (servicegraphs.ts
// complete()): the record an edge key last led to, in a direct-mapped table of MEMO_SLOTS record
// addresses picked by the key's client, server, connection and virtual-node words. A hit is a
// live record (series.ts isPlainLive: neither removed as stale nor the overflow record) whose
// key words equal the key's, which is the record upsert would find: a key has at most one live
// record and records never move (series.ts). A hit sets the record's update time
// as upsert does; a miss asks upsert and remembers the record when it is a live one.
import { SeriesTable, upsert, isPlainLive } from './series';
import { RECORD_KEY, RECORD_UPDATED, SG_KEY_DIMENSIONS } from './layout';

/** The words every edge key has (client, server, connection, virtual node) before its dimensions. */
const FIXED_WORDS: i32 = SG_KEY_DIMENSIONS;

const MEMO_SLOTS: i32 = 256; // the slot is the top 8 bits of the mix
const MEMO: usize = memory.data(MEMO_SLOTS * 4);

/** upsert(t, key, now) for a key of `words` u32 words (at least FIXED_WORDS), through the memo. */
export function upsertEdge(t: SeriesTable, key: usize, words: i32, now: u32): usize {
  // The four fixed words compared as two u64 (a loop of u32 compares cost ~70 instructions a hit).
  let a = load<u64>(key);
  let b = load<u64>(key, 8);
  let mix = <u32>a * 0x9e3779b1 ^ <u32>(a >>> 32) * 0x85ebca77 ^ <u32>b * 0xc2b2ae3d ^ <u32>(b >>> 32);
  let m = MEMO + (<usize>(mix >>> 24) << 2);
  let r = <usize>load<u32>(m);
  if (r != 0 && isPlainLive(r) && load<u64>(r, RECORD_KEY) == a && load<u64>(r, RECORD_KEY + 8) == b) {
    let w = FIXED_WORDS;
    while (w < words && load<u32>(r + RECORD_KEY + (<usize>w << 2)) == load<u32>(key + (<usize>w << 2))) w++;
    if (w == words) {
      store<u32>(r, now, RECORD_UPDATED);
      return r;
    }
  }
  r = upsert(t, key, now);
  if (isPlainLive(r)) store<u32>(m, <u32>r);
  return r;
}
