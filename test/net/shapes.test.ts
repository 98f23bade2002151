// Per-call objects' shapes kept (src/net/shapes.ts): after a full GC with no call in flight, V8
// deoptimizes no optimized function of the gRPC receiver's per-call code for a freed shape.
// Observed in V8's own trace: --trace-deopt prints "reason: weak objects" for each optimized
// function whose embedded shape (hidden class) a GC freed, and --trace-opt "completed optimizing"
// for each function optimized. The receiver runs from the built dist/ in a child process
// (shapes-child.mjs) with node:http2 as the client; a control class whose shape nothing keeps
// shows that this V8 does free such shapes (without the kept shapes, the receiver's functions
// below were in the list too: respondOk, H2Stream, UnaryMessage's getters, processImmediate...).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./shapes-child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist', import.meta.url));

/** Functions of the per-call classes (h2-frames.ts H2Stream, grpc-h2c.ts H2cCall, grpc-wire.ts UnaryMessage) and node's Immediate (writes.ts). */
const PER_CALL = [
  'H2Stream', 'H2cCall', 'UnaryMessage', 'respondOk', 'onStream', 'trySend', 'get complete', 'get overrun',
  'Immediate', 'processImmediate',
];

function run(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '--trace-opt', '--trace-deopt', CHILD, DIST, '20000'], { maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });
}

/** The functions named in lines matching `re`, in `text`. */
function named(text: string, re: RegExp): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!re.test(line)) continue;
    const m = /<(?:SharedFunctionInfo|JSFunction) ?([^>(]*?)\s*(?:\(sfi|>)/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

describe('per-call shapes kept across a full GC', () => {
  it('no optimized per-call function is deoptimized for a freed shape; a control class\'s are', async () => {
    const out = await run();
    const gcAt = out.indexOf('--- gc');
    expect(gcAt).toBeGreaterThan(0);
    expect(out).toContain('--- done');
    // The premise: the receiver's per-call code was optimized before the forced GC ...
    const optimized = named(out.slice(0, gcAt), /completed optimizing/);
    expect(optimized).toContain('respondOk');
    // ... and this V8 frees a shape whose objects all died (the control's reader is deoptimized).
    // Over the whole run: V8's own full GCs, before the forced one, free shapes too.
    const freed = named(out, /reason: weak objects/);
    expect(freed).toContain('controlProbe');
    expect(PER_CALL.filter((f) => freed.has(f))).toEqual([]);
  }, 60_000);
});
