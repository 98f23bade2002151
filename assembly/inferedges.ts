// infer_edges: parent_child (servicegraphs.ts). A span whose parent is a span of another
// service, and the pair not a client/server or producer/consumer pair, makes an edge parent
// service → child service.
import { spanAt, resourceAt, SPAN_RESOURCE, SPAN_STATUS_CODE, SPAN_START, SPAN_END, SPAN_PARENT_ID, SPAN_PARENT_HASH } from './staging';
import { recall, recalledService, recalledSeconds, recalledFailed, recalledIndex } from './recentspans';
import { durationSeconds } from './histogram';
import {
  find, stage, keyHash, setId, E_FLAGS, E_CONNECTION, E_CLIENT_LATENCY, E_SERVER_LATENCY, E_CLIENT, E_SERVER, E_MULTIPLIER,
  F_CLIENT_SEEN, F_SERVER_SEEN, F_FAILED, F_CHILD, F_CHILD_FAILED,
} from './edgestore';
import { CONNECTION_PARENT_CHILD, VIRTUAL_NONE } from './layout';
import { upsertDimensions } from './edgelabels';
import { STATUS_ERROR, key, waitMs, buildKey, insert, complete } from './servicegraphs';

/** The parent side of an inferred edge, from a span of this request. */
export function parentSide(e: usize, resource: usize, span: usize, service: u32): void {
  setId(e, E_CLIENT, service);
  store<f64>(e, durationSeconds(load<u64>(span, SPAN_START), load<u64>(span, SPAN_END)), E_CLIENT_LATENCY);
  if (load<u32>(span, SPAN_STATUS_CODE) == STATUS_ERROR) store<u32>(e, load<u32>(e, E_FLAGS) | F_FAILED, E_FLAGS);
  upsertDimensions(e, resource, span, true);
}

/** The parent side from the recent-spans cache: its dimensions only when it came in this request. */
export function recalledParentSide(e: usize, r: usize, service: u32): void {
  let index = recalledIndex(r);
  if (index >= 0) {
    let span = spanAt(<u32>index);
    parentSide(e, resourceAt(load<u32>(span, SPAN_RESOURCE)), span, service);
    return;
  }
  setId(e, E_CLIENT, service);
  store<f64>(e, recalledSeconds(r), E_CLIENT_LATENCY);
  if (recalledFailed(r)) store<u32>(e, load<u32>(e, E_FLAGS) | F_FAILED, E_FLAGS);
}

/** A child that is not a server span, standing in for the server side (F_CHILD) until a real one comes. */
function childSide(e: usize, resource: usize, span: usize, service: u32): void {
  let flags = load<u32>(e, E_FLAGS) | F_CHILD;
  if (load<u32>(span, SPAN_STATUS_CODE) == STATUS_ERROR) flags |= F_CHILD_FAILED;
  store<u32>(e, flags, E_FLAGS);
  setId(e, E_SERVER, service);
  store<f64>(e, durationSeconds(load<u64>(span, SPAN_START), load<u64>(span, SPAN_END)), E_SERVER_LATENCY);
  upsertDimensions(e, resource, span, false);
}

export function completeInferred(e: usize, now: u32, nowMs: f64): void {
  let flags = load<u32>(e, E_FLAGS);
  if ((flags & F_CHILD_FAILED) != 0) store<u32>(e, flags | F_FAILED, E_FLAGS);
  store<u32>(e, CONNECTION_PARENT_CHILD, E_CONNECTION);
  complete(e, VIRTUAL_NONE, now, nowMs);
}

/**
 * The child role of a span that is not a server or consumer span: with its parent a client
 * waiting for its server, it stands in for the server until the wait ends; with its parent
 * already seen (not a client), the edge completes now; else it waits for its parent.
 */
export function inferChild(span: usize, resource: usize, service: u32, w: f64, now: u32, nowMs: f64): void {
  if (load<u32>(span, SPAN_PARENT_ID) == 0) return;
  buildKey(key, span, SPAN_PARENT_ID);
  let h = load<u32>(span, SPAN_PARENT_HASH); // self time's hash of the same key, when it ran
  if (h == 0) h = keyHash(key);
  let e = find(key, h);
  if (e != 0) {
    let flags = load<u32>(e, E_FLAGS);
    if ((flags & F_CLIENT_SEEN) != 0 && (flags & (F_SERVER_SEEN | F_CHILD)) == 0 && load<u32>(e, E_CLIENT) != service) {
      childSide(e, resource, span, service);
    }
    return; // else another child, or a server, already waits for this parent
  }
  let r = recall(key, h);
  if (r != 0) {
    let parent = recalledService(r);
    if (parent == 0 || parent == service) return;
    e = stage(key, nowMs + waitMs);
    store<f64>(e, w, E_MULTIPLIER);
    childSide(e, resource, span, service);
    recalledParentSide(e, r, parent);
    completeInferred(e, now, nowMs);
    return;
  }
  e = stage(key, nowMs + waitMs);
  store<f64>(e, w, E_MULTIPLIER);
  childSide(e, resource, span, service);
  insert(h);
}
