// Service graphs (Tempo's service-graphs processor): client/server and producer/consumer spans
// paired across services through the edge store into edges with request, failure and latency
// metrics; database edges completed from the client span alone; virtual nodes and unpaired
// spans decided when an entry expires. infer_edges parent_child: inferedges.ts; labels from span
// attributes (dimensions, peers, databases): edgelabels.ts.
import {
  spanCount, spanAt, spanStride, resourceAt, SPAN_RESOURCE, SPAN_KIND, SPAN_STATUS_CODE, SPAN_START, SPAN_END,
  SPAN_TRACE_ID, SPAN_ID, SPAN_PARENT_ID, SPAN_TRACE_STATE_PTR, SPAN_TRACE_STATE_LEN, SPAN_ID_HASH, ID_TO_HASH, skipped,
} from './staging';
import { tracestateMultiplier } from './tracestate';
import { edgeTraceSum, edgeKeyHash } from './hash';
import {
  initRecentSpans, nextBatch, nextKey, remember, recall, recalledService, R_ERROR,
} from './recentspans';
import { intern, retain, release } from './intern';
import { serviceId, hasServiceName, spanMultiplier } from './attributes';
import { SeriesTable, newSeriesTable, upsert, upsertVia, recordIndexOf, generationOf } from './series';
import { parentSide, recalledParentSide, completeInferred, inferChild } from './inferedges';
import { configureEdgeLabels, dimCount, dimWords, upsertDimensions, upsertPeer, upsertDatabase } from './edgelabels';
import { recordExemplar } from './exemplars';
import { worstWindow, worstWindowKey, worstNow, observeWorstIn } from './worst';
import { Filter, keeps, forgetFilterMemo } from './filters';
import { Buckets, newBuckets, observe, durationSeconds } from './histogram';
import { Native, nativeOf, observeNative, histogramCost, nativeOffset } from './nativehistogram';
import {
  initEdgeStore, find, stage, insertStaged, staged, remove, oldest, newer, keyHash, setId, KEY_BYTES, E_FLAGS, E_CONNECTION,
  E_EXPIRES, E_CLIENT_LATENCY, E_SERVER_LATENCY, E_CLIENT_END, E_SERVER_START, E_CLIENT, E_SERVER, E_PEER,
  E_MULTIPLIER, E_DIMENSIONS, F_CLIENT_SEEN, F_SERVER_SEEN, F_ROOT, F_FAILED, F_FILTERED_CLIENT, F_FILTERED_SERVER,
  F_PARENT_SEEN, F_SAMPLED, F_CHILD, F_CHILD_FAILED,
} from './edgestore';
// The key words, values, label numbers and option bits the host reads and sets (layout.ts).
import {
  SG_KEY_CLIENT, SG_KEY_SERVER, SG_KEY_CONNECTION, SG_KEY_VIRTUAL_NODE, SG_KEY_DIMENSIONS, SG_V_REQUESTS, SG_V_FAILED,
  SG_V_SERVER_SUM, SG_V_CLIENT_SUM, SG_V_MESSAGING_SUM, SG_V_MESSAGING_COUNT, SG_V_BUCKETS, SG_HISTOGRAMS,
  CONNECTION_NONE, CONNECTION_VIRTUAL_NODE, CONNECTION_MESSAGING_SYSTEM, CONNECTION_DATABASE, VIRTUAL_NONE,
  VIRTUAL_CLIENT, VIRTUAL_SERVER, SG_OPT_MESSAGING_LATENCY, SG_OPT_VIRTUAL_NODE_LABEL, SG_OPT_INFER_PARENT_CHILD,
  SG_SLOT_MULTIPLIER,
  PAIR_KEY_CLIENT, PAIR_KEY_SERVER, PAIR_KEY_REASON, PAIR_V_COUNT, EXEMPLAR_TABLE_EDGES, EXEMPLAR_HISTOGRAM_STRIDE,
  REASON_NONE, REASON_CLIENT_ONLY, REASON_SERVER_ONLY, REASON_PARENT_UNKNOWN, REASON_SAMPLED_OUT,
  PROCESSOR_SERVICE_GRAPHS,
} from './layout';

const KIND_SERVER: u32 = 2;
const KIND_CLIENT: u32 = 3;
const KIND_PRODUCER: u32 = 4;
const KIND_CONSUMER: u32 = 5;
export const STATUS_ERROR: u32 = 2;

export let edges: SeriesTable = changetype<SeriesTable>(0);
/** Spans left without a pair at expiry (by reason), and spans dropped with the store full: key [client, server, reason], value [count]. */
export let unpaired: SeriesTable = changetype<SeriesTable>(0);
export let dropped: SeriesTable = changetype<SeriesTable>(0);
/** Entries expired, by the side that waited. */
export let expiredClient: f64 = 0;
export let expiredServer: f64 = 0;

let buckets: Buckets = changetype<Buckets>(0);
let native: Native = changetype<Native>(0); // native histograms: blocks after the buckets
let options: u32 = 0;
let inferEdges: bool = false;
export let waitMs: f64 = 0;
let multiplierSlot: i32 = -1;
let tracestate: bool = false;
export let filter: Filter = changetype<Filter>(0);
let userId: u32 = 0;
export let key: usize = 0;
let edgeKey: usize = 0;
let pairKey: usize = 0;
// Memo slots in front of the edges table's index (series.ts upsertVia), picked by the edge key's
// client, server, connection and virtual-node words (the top 8 bits of their mix).
const MEMO_SLOTS: i32 = 256;
const MEMO: usize = memory.data(MEMO_SLOTS * 4);

// "user": the client of a root server span whose caller is unknown.
const USER = memory.data<u8>([0x75, 0x73, 0x65, 0x72]);

/**
 * `slots` holds i32 watched-key slots: `dims` dimensions, `peers` peer attributes, `dbs`
 * database-name attributes, then SG_SLOTS_FIXED more (layout.ts SG_SLOT_: peer.service,
 * server.address, network.peer.address, network.peer.port and the span multiplier key; -1 = none).
 */
export function configureServiceGraphs(
  bounds: usize, boundCount: i32, opts: u32, slots: usize, dims: i32, peers: i32, dbs: i32,
  wait: f64, maxItems: u32,
): void {
  buckets = newBuckets(bounds, boundCount);
  options = opts;
  inferEdges = (opts & SG_OPT_INFER_PARENT_CHILD) != 0;
  waitMs = wait;
  configureEdgeLabels(opts, slots, dims, peers, dbs);
  multiplierSlot = load<i32>(slots + (<usize>(dims + peers + dbs + SG_SLOT_MULTIPLIER) << 2));
  userId = intern(USER, 4);
  retain(userId); // held for good
  key = heap.alloc(KEY_BYTES);
  edgeKey = heap.alloc(<usize>(SG_KEY_DIMENSIONS + dimWords) * 4);
  pairKey = heap.alloc(12);
  initEdgeStore(maxItems, dimWords);
  initRecentSpans(inferEdges);
  // Cost in Prometheus series: requests, failed, and the server and client (and messaging)
  // histograms' buckets, +Inf, sum and count.
  native = nativeOf(PROCESSOR_SERVICE_GRAPHS);
  let histogram = histogramCost(PROCESSOR_SERVICE_GRAPHS, boundCount);
  let cost = 2 + 2 * histogram + ((opts & SG_OPT_MESSAGING_LATENCY) != 0 ? histogram : 0);
  // Connection type and virtual node are numbers, not string ids.
  edges = newSeriesTable(
    SG_KEY_DIMENSIONS + dimWords,
    SG_V_BUCKETS + SG_HISTOGRAMS * boundCount + (changetype<usize>(native) != 0 ? SG_HISTOGRAMS * native.values : 0),
    (1 << SG_KEY_CONNECTION) | (1 << SG_KEY_VIRTUAL_NODE), cost,
  );
  unpaired = newSeriesTable(PAIR_KEY_REASON + 1, PAIR_V_COUNT + 1, 1 << PAIR_KEY_REASON, 1);
  dropped = newSeriesTable(PAIR_KEY_REASON + 1, PAIR_V_COUNT + 1, 1 << PAIR_KEY_REASON, 1);
}

/** Filter policies (filters.ts) and the tracestate multiplier switch, set before start. */
export function setServiceGraphsFilter(f: Filter): void {
  filter = f;
}
export function setServiceGraphsTracestate(on: bool): void {
  tracestate = on;
}

export function serviceGraphsEnabled(): bool {
  return changetype<usize>(edges) != 0;
}

function countPair(t: SeriesTable, client: u32, server: u32, reason: u32, w: f64, now: u32): void {
  store<u32>(pairKey, client, PAIR_KEY_CLIENT << 2);
  store<u32>(pairKey, server, PAIR_KEY_SERVER << 2);
  store<u32>(pairKey, reason, PAIR_KEY_REASON << 2);
  let r = upsert(t, pairKey, now) + t.valuesOffset;
  store<f64>(r, load<f64>(r, PAIR_V_COUNT << 3) + w, PAIR_V_COUNT << 3);
}

/** Writes the edge key (trace id, then span id, zeros for absent ids) at `k` (`key`, from a local: V8 reloads a global after every store). */
export function buildKey(k: usize, span: usize, idField: usize): void {
  // Word by word: memory.copy and memory.fill are calls out of the module, costly at this size.
  let trace = <usize>load<u32>(span, SPAN_TRACE_ID);
  let t0: u64 = 0;
  let t1: u64 = 0;
  if (trace != 0) { // one test for both halves
    t0 = load<u64>(trace);
    t1 = load<u64>(trace, 8);
  }
  store<u64>(k, t0);
  store<u64>(k, t1, 8);
  let id = <usize>load<u32>(span + idField);
  store<u64>(k, id != 0 ? load<u64>(id) : 0, 16);
}

/** Retains (`hold`) or releases the ids every waiting entry has: around sweepStrings, so that it frees none of them. */
export function holdWaitingIds(hold: bool): void {
  for (let e = oldest(); e != 0; e = newer(e)) {
    holdId(load<u32>(e, E_CLIENT), hold);
    holdId(load<u32>(e, E_SERVER), hold);
    holdId(load<u32>(e, E_PEER), hold);
    for (let d = 0; d < dimWords; d++) holdId(load<u32>(e + E_DIMENSIONS + (<usize>d << 2)), hold);
  }
}

function holdId(id: u32, hold: bool): void {
  if (hold) retain(id);
  else release(id);
}

/** Moves the staged entry into the store (0 when full). */
// @ts-ignore: decorator
@inline export function insert(h: u32): usize {
  return insertStaged(h);
}

/** Frees stored entry `e`. */
// @ts-ignore: decorator
@inline function discard(e: usize, h: u32): void {
  remove(e, h);
}

/** The edge key's trace id (its first 16 bytes), or 0 when the spans carried none. */
function traceOf(e: usize): usize {
  return load<u64>(e) != 0 || load<u64>(e, 8) != 0 ? e : 0;
}

/** Counts the edge of entry `e` (its client, server, connection, dimensions) into its series. */
export function complete(e: usize, virtualNode: u32, now: u32, nowMs: f64): void {
  worstWindow(nowMs);
  completeEdge(e, virtualNode, now, nowMs, worstWindowKey(), worstNow(), false);
}

/**
 * complete(), inline in the span loop (as a call there: ~18 instructions per span more, callgrind).
 * `windowKey` and `windowNow`: worstWindowKey() and worstNow() after worstWindow(nowMs), which the
 * loop calls once (per edge, the call and its reloads cost ~60 instructions: callgrind).
 */
// @ts-ignore: decorator
@inline function completeEdge(
  e: usize, virtualNode: u32, now: u32, nowMs: f64, windowKey: u64, windowNow: u64, plain: bool,
): void {
  let k = edgeKey;
  let words = plain ? 0 : dimWords;
  let client = load<u32>(e, E_CLIENT);
  let server = load<u32>(e, E_SERVER);
  let connection = load<u32>(e, E_CONNECTION);
  let virtual = (options & SG_OPT_VIRTUAL_NODE_LABEL) != 0 ? virtualNode : VIRTUAL_NONE;
  let nat = plain ? changetype<Native>(0) : native;
  store<u32>(k, client, SG_KEY_CLIENT << 2);
  store<u32>(k, server, SG_KEY_SERVER << 2);
  store<u32>(k, connection, SG_KEY_CONNECTION << 2);
  store<u32>(k, virtual, SG_KEY_VIRTUAL_NODE << 2);
  for (let d = 0; d < words; d++) { // word by word: memory.copy is a call out of the module
    store<u32>(k + (<usize>(SG_KEY_DIMENSIONS + d) << 2), load<u32>(e + E_DIMENSIONS + (<usize>d << 2)));
  }
  let t = edges;
  // The memo slot by the four fixed words, which upsertVia compares without a loop (its 16 bytes).
  let mix = client * 0x9e3779b1 ^ server * 0x85ebca77 ^ connection * 0xc2b2ae3d ^ virtual;
  let keyBytes = <usize>(SG_KEY_DIMENSIONS + words) << 2;
  let record = upsertVia(t, MEMO + (<usize>(mix >>> 24) << 2), k, keyBytes, now);
  let r = record + t.valuesOffset;
  let w = plain ? 1 : load<f64>(e, E_MULTIPLIER); // every span weighs 1 in the plain loop
  let b = <usize>buckets.count << 3;
  store<f64>(r, load<f64>(r, SG_V_REQUESTS << 3) + w, SG_V_REQUESTS << 3);
  if ((load<u32>(e, E_FLAGS) & F_FAILED) != 0) store<f64>(r, load<f64>(r, SG_V_FAILED << 3) + w, SG_V_FAILED << 3);
  // Exemplars point at the trace; the span id in the key is the client span's.
  let trace = traceOf(e);
  let index = recordIndexOf(t, record);
  let generation = generationOf(record);
  let serverSeconds = load<f64>(e, E_SERVER_LATENCY);
  let clientSeconds = load<f64>(e, E_CLIENT_LATENCY);
  let nativeFirst = SG_V_BUCKETS + SG_HISTOGRAMS * buckets.count;
  let serverBucket = <u32>observe(buckets, r + (SG_V_SERVER_SUM << 3), r + (SG_V_BUCKETS << 3), serverSeconds, w);
  if (changetype<usize>(nat) != 0) observeNative(nat, r + nativeOffset(nat, nativeFirst, 0), serverSeconds, w, nowMs);
  let clientBucket = EXEMPLAR_HISTOGRAM_STRIDE + <u32>observe(buckets, r + (SG_V_CLIENT_SUM << 3), r + (SG_V_BUCKETS << 3) + b, clientSeconds, w);
  if (changetype<usize>(nat) != 0) observeNative(nat, r + nativeOffset(nat, nativeFirst, 1), clientSeconds, w, nowMs);
  if (trace != 0) { // one test for the exemplars and the worst trace, as span metrics does
    recordExemplar(EXEMPLAR_TABLE_EDGES, index, generation, serverBucket, trace, trace + 16, serverSeconds, nowMs);
    recordExemplar(EXEMPLAR_TABLE_EDGES, index, generation, clientBucket, trace, trace + 16, clientSeconds, nowMs);
    // The slowest by server span duration, or, on an edge without one (a virtual server: the
    // client span alone), by client span duration; failed when either side was.
    let byClient = serverSeconds == 0 && clientSeconds > 0;
    observeWorstIn(
      EXEMPLAR_TABLE_EDGES, index, byClient ? clientBucket : serverBucket, trace, trace + 16,
      byClient ? clientSeconds : serverSeconds, (load<u32>(e, E_FLAGS) & F_FAILED) != 0, windowKey, windowNow,
    );
  }
  if (!plain && (options & SG_OPT_MESSAGING_LATENCY) != 0 && load<u32>(e, E_CONNECTION) == CONNECTION_MESSAGING_SYSTEM) {
    // Time in the queue: consumer start minus producer end; not observed when not positive.
    let seconds = durationSeconds(load<u64>(e, E_CLIENT_END), load<u64>(e, E_SERVER_START));
    if (seconds > 0) {
      store<f64>(r, load<f64>(r, SG_V_MESSAGING_COUNT << 3) + w, SG_V_MESSAGING_COUNT << 3);
      let i = observe(buckets, r + (SG_V_MESSAGING_SUM << 3), r + (SG_V_BUCKETS << 3) + 2 * b, seconds, w);
      if (changetype<usize>(nat) != 0) observeNative(nat, r + nativeOffset(nat, nativeFirst, 2), seconds, w, nowMs);
      recordExemplar(
        EXEMPLAR_TABLE_EDGES, index, generation, 2 * EXEMPLAR_HISTOGRAM_STRIDE + <u32>i, trace, trace + 16, seconds, nowMs,
      );
    }
  }
}

/**
 * A span that is not a client or producer is remembered (recentspans.ts), so that a server span
 * arriving later can tell that its parent came; and a server span already waiting for it (a
 * parent that is not a client) learns it here. Inline in the span loop: as a call it cost ~17
 * instructions per span (callgrind), the loop's locals spilled around it.
 */
// @ts-ignore: decorator
@inline function rememberSpan(span: usize, i: u32, resource: usize, kind: u32, now: u32, nowMs: f64, traceSum: u64, infer: bool): void {
  let id = <usize>load<u32>(span, SPAN_ID);
  if (load<u32>(span, SPAN_TRACE_ID) == 0 || id == 0) return;
  let own = nextKey(); // built in the recent-spans entry that remembers it; find() below reads it there
  buildKey(own, span, SPAN_ID);
  let h = load<u32>(span, SPAN_ID_HASH); // self time's hash of the same key, when it ran
  if (h == 0) h = edgeKeyHash(traceSum, id);
  let service = serviceId(resource);
  let failed = load<u32>(span, SPAN_STATUS_CODE) == STATUS_ERROR ? R_ERROR : 0;
  remember(h, service, kind | failed, span, i);
  let e = find(own, h);
  if (e == 0) return;
  let flags = load<u32>(e, E_FLAGS);
  if ((flags & (F_SERVER_SEEN | F_CHILD)) == 0 || (flags & F_CLIENT_SEEN) != 0) return;
  // A child waits for this span, its parent, which is not a client.
  if (infer && load<u32>(e, E_SERVER) != service) {
    parentSide(e, resource, span, service);
    completeInferred(e, now, nowMs);
    discard(e, h);
  } else if ((flags & F_SERVER_SEEN) != 0) {
    store<u32>(e, flags | F_PARENT_SEEN, E_FLAGS);
  } else {
    discard(e, h); // an inferred child of a span of its own service: a call inside it
  }
}

/** Whether the span's tracestate says it was sampled with a probability below 1. */
// @ts-ignore: decorator
@inline function sampled(span: usize): bool {
  let p = <usize>load<u32>(span, SPAN_TRACE_STATE_PTR);
  return p != 0 && tracestateMultiplier(p, <usize>load<u32>(span, SPAN_TRACE_STATE_LEN)) > 1;
}

/** `now` is <u32>(nowMs / 1000), computed by the caller: computed here, V8 sank it into the loop (once per span). */
export function aggregateServiceGraphs(nowMs: f64, now: u32): void {
  // Without the options below (the defaults), the same loop compiled with their checks folded
  // away, as span metrics does: fewer branches and fewer values for V8 to keep per span.
  // infer_edges has a copy of its own (as (b7) runs it).
  let plain = changetype<usize>(filter) == 0 && multiplierSlot < 0 && !tracestate
    && dimWords == 0 && changetype<usize>(native) == 0 && (options & SG_OPT_MESSAGING_LATENCY) == 0;
  if (!plain) aggregateAll(nowMs, now);
  else if (inferEdges) aggregatePlainInfer(nowMs, now);
  else aggregatePlain(nowMs, now);
}

function aggregatePlain(nowMs: f64, now: u32): void {
  aggregate(nowMs, now, true, false);
}

function aggregatePlainInfer(nowMs: f64, now: u32): void {
  aggregate(nowMs, now, true, true);
}

function aggregateAll(nowMs: f64, now: u32): void {
  aggregate(nowMs, now, false, inferEdges);
}

// @ts-ignore: decorator
@inline function aggregate(nowMs: f64, now: u32, plain: bool, infer: bool): void {
  // The module's settings, read once into locals: V8 keeps a WASM global in memory and would
  // reload each one per span.
  let f = plain ? changetype<Filter>(0) : filter;
  if (changetype<usize>(f) != 0) forgetFilterMemo(f);
  let count = spanCount;
  let mult = multiplierSlot;
  let ts = tracestate;
  let unweighted = plain || (mult < 0 && !ts); // every span weighs 1: tested once here, not per span
  let k = key;
  let expires = nowMs + waitMs;
  let stride = spanStride;
  let dims = !plain && dimCount != 0;
  worstWindow(nowMs);
  let windowKey = worstWindowKey();
  let windowNow = worstNow();
  let span = spanAt(0) - stride;
  nextBatch();
  for (let i: u32 = 0; i < count; i++) {
    span += stride;
    if (skipped(span)) continue;
    let kind = load<u32>(span, SPAN_KIND);
    let client = kind - KIND_CLIENT <= KIND_PRODUCER - KIND_CLIENT; // unsigned: one compare
    let resource = resourceAt(load<u32>(span, SPAN_RESOURCE));
    if (!hasServiceName(resource)) continue;
    // A span's own key and its parent's share the trace id's part of their hash.
    let traceSum = edgeTraceSum(<usize>load<u32>(span, SPAN_TRACE_ID));
    // Clients and producers wait in the store, where their children find them.
    if (!client) rememberSpan(span, i, resource, kind, now, nowMs, traceSum, infer);
    // Bitwise, not short-circuit: V8 made each || a 0/1 value and a branch.
    let server = (kind == KIND_SERVER) | (kind == KIND_CONSUMER);
    if (!(client | server | infer)) continue;
    if (changetype<usize>(f) != 0 && !keeps(f, resource, span)) {
      if (client || server) filterSide(span, client, nowMs);
      continue;
    }
    let service = serviceId(resource);
    let w = unweighted ? 1 : spanMultiplier(resource, span, mult, ts);
    if (infer && !server) inferChild(span, resource, service, w, now, nowMs);
    if (!(client | server)) continue;
    let idField = client ? SPAN_ID : SPAN_PARENT_ID;
    buildKey(k, span, idField);
    let h = load<u32>(span + idField + ID_TO_HASH); // self time's hash of the same key, when it ran
    if (h == 0) h = edgeKeyHash(traceSum, <usize>load<u32>(span + idField));
    // A span with no entry waiting is first filled in outside the store: a database call
    // completes on its own and never needs a place, even with the store full (as in Tempo).
    let e = find(k, h);
    // The other side was filtered out: this one makes no edge, no virtual node, no unpaired span.
    if (e != 0 && (load<u32>(e, E_FLAGS) & (client ? F_FILTERED_SERVER : F_FILTERED_CLIENT)) != 0
        && (load<u32>(e, E_FLAGS) & (F_CLIENT_SEEN | F_SERVER_SEEN)) == 0) continue;
    let inferredFrom: usize = 0;
    if (e == 0) {
      e = stage(k, expires, !plain);
      // A server span's parent that came before it (earlier in this request or in an earlier one).
      let r: usize = client ? 0 : recall(k, h);
      if (r != 0) {
        store<u32>(e, F_PARENT_SEEN, E_FLAGS);
        if (infer && recalledService(r) != 0 && recalledService(r) != service) inferredFrom = r;
      }
    }
    let seconds = durationSeconds(load<u64>(span, SPAN_START), load<u64>(span, SPAN_END));
    let flags = load<u32>(e, E_FLAGS);
    if (load<u32>(span, SPAN_STATUS_CODE) == STATUS_ERROR) flags |= F_FAILED;
    if (sampled(span)) flags |= F_SAMPLED;
    store<u32>(e, kind == KIND_PRODUCER || kind == KIND_CONSUMER ? CONNECTION_MESSAGING_SYSTEM : CONNECTION_NONE, E_CONNECTION);
    if (!plain) store<f64>(e, w, E_MULTIPLIER); // else 1, as stage() left it
    if (client) {
      store<u32>(e, flags | F_CLIENT_SEEN, E_FLAGS);
      setId(e, E_CLIENT, service);
      store<f64>(e, seconds, E_CLIENT_LATENCY);
      store<u64>(e, load<u64>(span, SPAN_END), E_CLIENT_END);
      if (dims) upsertDimensions(e, resource, span, true);
      upsertDatabase(e, resource, span, seconds);
    } else {
      if (load<u32>(span, SPAN_PARENT_ID) == 0) flags |= F_ROOT;
      store<u32>(e, (flags | F_SERVER_SEEN) & ~(F_CHILD | F_CHILD_FAILED), E_FLAGS);
      setId(e, E_SERVER, service);
      store<f64>(e, seconds, E_SERVER_LATENCY);
      store<u64>(e, load<u64>(span, SPAN_START), E_SERVER_START);
      if (dims) upsertDimensions(e, resource, span, false);
    }
    if (inferredFrom != 0) { // its parent, not a client, came before it: an inferred edge now
      recalledParentSide(e, inferredFrom, recalledService(inferredFrom));
      completeInferred(e, now, nowMs);
      continue;
    }
    // A child standing in for the server (F_CHILD) is decided when the wait ends: a server may still come.
    let paired = load<u32>(e, E_CLIENT) != 0 && load<u32>(e, E_SERVER) != 0
      && ((load<u32>(e, E_FLAGS) & F_CHILD) == 0 || load<u32>(e, E_CONNECTION) == CONNECTION_DATABASE);
    if (paired) {
      completeEdge(e, 0, now, nowMs, windowKey, windowNow, plain);
      if (e != staged) discard(e, h);
      continue;
    }
    // The peer names a virtual node when the entry expires unpaired (expire()): only a waiting
    // client or root server span's entry needs it.
    if (client || load<u32>(span, SPAN_PARENT_ID) == 0) upsertPeer(e, span);
    if (e == staged && insert(h) == 0) countPair(dropped, client ? service : 0, client ? 0 : service, REASON_NONE, w, now);
  }
}

/**
 * A filtered-out span's side of its edge is remembered for `wait` (as Tempo's store keeps
 * dropped span sides), so that the other side makes nothing either: an entry of the other side
 * already waiting is let go (not counted as unpaired), and one arriving later is ignored. The
 * mark takes a place in the edge store; with the store full it is not kept. A root server span
 * has no client side to mark.
 */
function filterSide(span: usize, client: bool, nowMs: f64): void {
  if (!client && load<u32>(span, SPAN_PARENT_ID) == 0) return;
  buildKey(key, span, client ? SPAN_ID : SPAN_PARENT_ID);
  let h = keyHash(key);
  let mark = client ? F_FILTERED_CLIENT : F_FILTERED_SERVER;
  let e = find(key, h);
  if (e != 0) {
    let flags = load<u32>(e, E_FLAGS);
    let waiting = flags & (F_CLIENT_SEEN | F_SERVER_SEEN);
    if (waiting == 0 || waiting == (client ? F_CLIENT_SEEN : F_SERVER_SEEN)) {
      store<u32>(e, flags | mark, E_FLAGS);
      return;
    }
    discard(e, h); // the other side waits: it will never pair
  }
  e = stage(key, nowMs + waitMs);
  store<u32>(e, mark, E_FLAGS);
  insert(h);
}

/**
 * An entry whose other side never came: a root server span becomes an edge from its peer
 * (or "user"), a client span with a peer attribute an edge to that virtual node; anything
 * else is counted as unpaired.
 */
function expire(e: usize, now: u32, nowMs: f64): void {
  let flags = load<u32>(e, E_FLAGS);
  if ((flags & (F_CLIENT_SEEN | F_SERVER_SEEN)) == 0) { // a filtered side's mark, or an inferred child whose parent never came
    discard(e, keyHash(e));
    return;
  }
  if ((flags & F_CLIENT_SEEN) != 0) expiredClient += 1;
  else expiredServer += 1;
  let client = load<u32>(e, E_CLIENT);
  let server = load<u32>(e, E_SERVER);
  let peer = load<u32>(e, E_PEER);
  if ((flags & (F_CLIENT_SEEN | F_SERVER_SEEN | F_CHILD)) == (F_CLIENT_SEEN | F_CHILD)) {
    completeInferred(e, now, nowMs); // a client whose server never came, but a child in another service did
  } else if (client == 0 && (flags & F_ROOT) != 0) {
    setId(e, E_CLIENT, peer != 0 ? peer : userId);
    store<u32>(e, CONNECTION_VIRTUAL_NODE, E_CONNECTION);
    complete(e, VIRTUAL_CLIENT, now, nowMs);
  } else if (client != 0 && server == 0 && peer != 0) {
    setId(e, E_SERVER, peer);
    store<u32>(e, CONNECTION_VIRTUAL_NODE, E_CONNECTION);
    complete(e, VIRTUAL_SERVER, now, nowMs);
  } else {
    countPair(unpaired, client, server, reasonOf(flags), load<f64>(e, E_MULTIPLIER), now);
  }
  discard(e, keyHash(e));
}

/** Why a waiting span found no other side (REASON_ numbers, layout.ts). */
function reasonOf(flags: u32): u32 {
  if ((flags & F_CLIENT_SEEN) != 0) return (flags & F_SAMPLED) != 0 ? REASON_SAMPLED_OUT : REASON_CLIENT_ONLY;
  if ((flags & F_PARENT_SEEN) != 0) return REASON_SERVER_ONLY;
  return (flags & F_SAMPLED) != 0 ? REASON_SAMPLED_OUT : REASON_PARENT_UNKNOWN;
}

/** Expires every entry whose wait ended at or before `nowMs` (all of them when nowMs is +Inf). */
export function expireServiceGraphs(nowMs: f64): u32 {
  let n: u32 = 0;
  while (true) {
    let e = oldest();
    if (e == 0 || load<f64>(e, E_EXPIRES) > nowMs) break;
    // Flushed early (nowMs +Inf, at shutdown), an entry is stamped with the time its wait ends.
    let stamp = isFinite(nowMs) ? nowMs : load<f64>(e, E_EXPIRES);
    expire(e, <u32>(stamp / 1000), stamp);
    n++;
  }
  return n;
}
