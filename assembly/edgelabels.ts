// Edge labels from a span's attributes (servicegraphs.ts): the dimensions, the peer attribute
// that names a virtual node should a lone client or root server span's entry expire, and the
// database a client span calls (a database edge, named by its peer, from that span alone).
import { RES_SLOTS, SPAN_SLOTS, SLOT_SIZE } from './staging';
import { watchedCount } from './watch';
import { intern } from './intern';
import { valuePtr, valueLen } from './labelvalue';
import { resourceOrSpanSlot, spanSlot, slotValueId, slotValue } from './attributes';
import { memoValueId } from './valuememo';
import { setId, E_CONNECTION, E_SERVER_LATENCY, E_SERVER, E_PEER, E_DIMENSIONS } from './edgestore';
import {
  CONNECTION_DATABASE, SG_OPT_CLIENT_SERVER_PREFIX, SG_SLOTS_FIXED,
  SG_SLOT_PEER_SERVICE, SG_SLOT_SERVER_ADDRESS, SG_SLOT_NETWORK_PEER_ADDRESS, SG_SLOT_NETWORK_PEER_PORT,
} from './layout';

export let dimCount: i32 = 0;
/** Dimension words in an entry and an edge key: twice dimCount with client_server_prefix. */
export let dimWords: i32 = 0;
let prefixed: bool = false;
let dimSlots: usize = 0;
let peerCount: i32 = 0;
let peerSlots: usize = 0;
// The span-record offsets of the first PEER_FIRST peer-attribute slots that exist, the last
// repeated when fewer (upsertPeer): globals, not a table in memory (static data moves the heap).
let peerOffset0: usize = 0;
let peerOffset1: usize = 0;
let peerOffset2: usize = 0;
let peerOffset3: usize = 0;
let dbCount: i32 = 0;
let dbSlots: usize = 0;
let peerServiceSlot: i32 = -1;
let serverAddressSlot: i32 = -1;
let peerAddressSlot: i32 = -1;
let peerPortSlot: i32 = -1;
const ADDRESS: usize = memory.data(4200);

/** configureServiceGraphs's `slots` (its comment says what they hold) and counts, kept. */
export function configureEdgeLabels(opts: u32, slots: usize, dims: i32, peers: i32, dbs: i32): void {
  dimCount = dims;
  prefixed = (opts & SG_OPT_CLIENT_SERVER_PREFIX) != 0;
  dimWords = prefixed ? dims * 2 : dims;
  let n = dims + peers + dbs + SG_SLOTS_FIXED;
  let copy = heap.alloc(<usize>n * 4);
  memory.copy(copy, slots, <usize>n * 4);
  dimSlots = copy;
  peerSlots = copy + (<usize>dims << 2);
  dbSlots = peerSlots + (<usize>peers << 2);
  let fixed = dbSlots + (<usize>dbs << 2);
  peerCount = compactSlots(peerSlots, peers);
  if (peerCount > 0) {
    peerOffset0 = peerOffsetAt(0);
    peerOffset1 = peerOffsetAt(1);
    peerOffset2 = peerOffsetAt(2);
    peerOffset3 = peerOffsetAt(3);
  }
  // The database-name slots that exist (-1: none), in order; the first DB_FIRST also as record
  // offsets (upsertDatabase), the last repeated when fewer: looked at again after itself, a slot
  // finds nothing new.
  let valid = compactSlots(dbSlots, dbs);
  dbCount = valid;
  for (let q = 0; q < DB_FIRST && valid > 0; q++) {
    let slot = <usize>load<i32>(dbSlots + (<usize>min(q, valid - 1) << 2));
    store<u32>(DB_OFFSETS + (<usize>q << 3), <u32>(RES_SLOTS + slot * SLOT_SIZE));
    store<u32>(DB_OFFSETS + (<usize>q << 3), <u32>(SPAN_SLOTS + slot * SLOT_SIZE), 4);
  }
  // The window of DB_WINDOW slots holding every database-name slot, when there is one: [w, w +
  // DB_WINDOW) within the slots watched so far (a record holds at least those), from the lowest
  // database-name slot, or ending with the last slot when that one is too near the end.
  dbWindow = false;
  let count = watchedCount();
  if (valid > 0 && count >= DB_WINDOW) {
    let lo = count;
    let hi = -1;
    for (let q = 0; q < valid; q++) {
      let slot = load<i32>(dbSlots + (<usize>q << 2));
      lo = min(lo, slot);
      hi = max(hi, slot);
    }
    let w = min(lo, count - DB_WINDOW);
    if (hi < w + DB_WINDOW) {
      dbWindow = true;
      dbWindowResource = RES_SLOTS + <usize>w * SLOT_SIZE;
      dbWindowSpan = SPAN_SLOTS + <usize>w * SLOT_SIZE;
    }
  }
  peerServiceSlot = load<i32>(fixed + (<usize>SG_SLOT_PEER_SERVICE << 2));
  serverAddressSlot = load<i32>(fixed + (<usize>SG_SLOT_SERVER_ADDRESS << 2));
  peerAddressSlot = load<i32>(fixed + (<usize>SG_SLOT_NETWORK_PEER_ADDRESS << 2));
  peerPortSlot = load<i32>(fixed + (<usize>SG_SLOT_NETWORK_PEER_PORT << 2));
}

/** The span's dimension values into entry `e`, after the client's when client_server_prefix gives each side its own. */
export function upsertDimensions(e: usize, resource: usize, span: usize, client: bool): void {
  let offset = prefixed && !client ? dimCount : 0;
  for (let d = 0; d < dimCount; d++) {
    let s = resourceOrSpanSlot(resource, span, load<i32>(dimSlots + (<usize>d << 2)));
    if (s != 0) setId(e, E_DIMENSIONS + (<usize>(offset + d) << 2), slotValueId(s));
  }
}

/** Moves the slots (i32) that exist (not -1) of the `n` at `slots` to its front, in order; returns their count. */
function compactSlots(slots: usize, n: i32): i32 {
  let valid = 0;
  for (let q = 0; q < n; q++) {
    let slot = load<i32>(slots + (<usize>q << 2));
    if (slot < 0) continue;
    store<i32>(slots + (<usize>valid << 2), slot);
    valid++;
  }
  return valid;
}

/** The span-record offset of the `q`th peer slot that exists (the last one when fewer). */
function peerOffsetAt(q: i32): usize {
  return SPAN_SLOTS + <usize>load<i32>(peerSlots + (<usize>min(q, peerCount - 1) << 2)) * SLOT_SIZE;
}

/** The first peer attribute the span has names a virtual node should the entry expire unpaired. */
// @ts-ignore: decorator
@inline export function upsertPeer(e: usize, span: usize): void {
  // The first PEER_FIRST slots in straight line (as a loop, ~14 instructions a slot with V8's
  // bounds and stack checks), any further ones in a loop.
  let n = peerCount;
  if (n == 0) return;
  let s = span + peerOffset0;
  if (load<u32>(s) == 0) s = span + peerOffset1;
  if (load<u32>(s) == 0) s = span + peerOffset2;
  if (load<u32>(s) == 0) s = span + peerOffset3;
  if (load<u32>(s) == 0) {
    if (n <= PEER_FIRST) return;
    let slots = peerSlots;
    let p = PEER_FIRST;
    for (; p < n; p++) {
      s = spanSlot(span, load<i32>(slots + (<usize>p << 2)));
      if (s != 0) break;
    }
    if (p == n) return;
  }
  setId(e, E_PEER, slotValueId(s));
}
const PEER_FIRST: i32 = 4;

/** host:port from network.peer.address and network.peer.port, interned. */
function addressWithPort(host: usize, port: usize): u32 {
  slotValue(host);
  let n = valueLen < 2048 ? valueLen : 2048;
  memory.copy(ADDRESS, valuePtr, n);
  store<u8>(ADDRESS + n, 0x3a);
  slotValue(port);
  let m = valueLen < 2048 ? valueLen : 2048;
  memory.copy(ADDRESS + n + 1, valuePtr, m);
  return intern(ADDRESS, n + 1 + m);
}

/** Database-name slots looked at without a loop, and their offsets in a resource and a span record (u32 each). */
const DB_FIRST: i32 = 4;
const DB_OFFSETS: usize = memory.data(DB_FIRST * 8);

/**
 * Slots looked at together before the database-name slots one by one: DB_WINDOW slots of 8 bytes,
 * two v128 loads per record. A slot is all zeros when the record lacks its attribute, and a
 * window of zeros on the resource and the span tells that neither has any database attribute,
 * the common client span (callgrind, (b): 10 fewer instructions per span).
 */
const DB_WINDOW: i32 = 4;
let dbWindow = false;
let dbWindowResource: usize = 0;
let dbWindowSpan: usize = 0;

/** resourceOrSpanSlot for the slot whose resource and span record offsets are at `offsets`. */
// @ts-ignore: decorator
@inline function slotAt(resource: usize, span: usize, offsets: usize): usize {
  let s = resource + <usize>load<u32>(offsets);
  if (load<u32>(s) != 0) return s;
  s = span + <usize>load<u32>(offsets, 4);
  return load<u32>(s) != 0 ? s : 0;
}

/**
 * A client span with a database attribute is a database call: the edge completes from this
 * span alone, named by peer.service, server.address, network.peer.address[:port], or the
 * database attribute, in that order of preference. Inline in the span loop (servicegraphs.ts), its only caller
 * (as a call: ~14 instructions per span more, callgrind).
 */
// @ts-ignore: decorator
@inline export function upsertDatabase(e: usize, resource: usize, span: usize, seconds: f64): void {
  // The first DB_FIRST slots in straight line (as a loop, V8 spent its bounds and stack checks on
  // every client span that is not a database call), any further ones in a loop.
  let n = dbCount;
  if (n == 0) return;
  if (dbWindow) {
    let r = resource + dbWindowResource;
    let s = span + dbWindowSpan;
    if (!v128.any_true(v128.or(v128.or(v128.load(r), v128.load(r, 16)), v128.or(v128.load(s), v128.load(s, 16))))) return;
  }
  let db = slotAt(resource, span, DB_OFFSETS);
  if (db == 0) db = slotAt(resource, span, DB_OFFSETS + 8);
  if (db == 0) db = slotAt(resource, span, DB_OFFSETS + 16);
  if (db == 0) db = slotAt(resource, span, DB_OFFSETS + 24);
  if (db == 0 && n > DB_FIRST) {
    let slots = dbSlots;
    for (let q = DB_FIRST; q < n; q++) {
      db = resourceOrSpanSlot(resource, span, load<i32>(slots + (<usize>q << 2)));
      if (db != 0) break;
    }
  }
  if (db == 0) return;
  store<u32>(e, CONNECTION_DATABASE, E_CONNECTION);
  store<f64>(e, seconds, E_SERVER_LATENCY);
  let s = resourceOrSpanSlot(resource, span, peerServiceSlot);
  if (s == 0) s = resourceOrSpanSlot(resource, span, serverAddressSlot);
  let name: u32;
  if (s != 0) {
    name = memoValueId(s);
  } else {
    let host = resourceOrSpanSlot(resource, span, peerAddressSlot);
    if (host != 0) {
      let port = resourceOrSpanSlot(resource, span, peerPortSlot);
      name = port != 0 ? addressWithPort(host, port) : slotValueId(host);
    } else {
      name = memoValueId(db);
    }
  }
  setId(e, E_SERVER, name);
}

