// One object of each per-call class kept for the life of the process, so that V8 keeps its shape.
// V8 reaches the shape (hidden class) an object ends with after its class's field initializers
// only through the class's transitions, which hold it weakly: when no object of that shape
// survives a full GC, the shape is freed, and every optimized function that embedded it (to check
// or build such objects) is deoptimized ("reason: weak objects" under --trace-deopt) and compiled
// again once hot. Per-call objects (a stream, a call, its message, node's Immediate of a turn's
// writes) all die between full GCs, and under load OldGenerationTrim (memory.ts) forces one every
// few seconds: ~30 functions deoptimized and compiled again each time, ~2.6% of the sidecar's CPU
// in TurboFan (issue 20). An object kept here holds nothing else alive: build it from inert values.
//
// Likewise per call: the globals `Buffer` and `performance` are accessors on globalThis (Node's
// lazy getters), which optimized code reads through LoadGlobalIC and a getter call at each use
// (~0.2% of the sidecar's CPU under the bench's gRPC+gzip load); the request path's modules import
// them from node:buffer and node:perf_hooks instead, constants once the module is linked.
const kept: object[] = [];

/** Keeps `o` (and so its shape) alive for good; returns it. */
export function keepShape<T extends object>(o: T): T {
  kept.push(o);
  return o;
}
