// Socket writes of an HTTP/2 connection (h2c.ts), the other side of reads.ts: frames are queued
// and go out together, one socket write per connection per event-loop turn, however many reads
// and answers the turn had (libuv reads a socket up to 32 times in one turn while bytes are
// waiting, so a turn can complete several requests of one connection). Each write to a peer on
// this host wakes it: under the bench's gRPC+gzip load that wake-up was the largest part of the
// kernel's share of a request's CPU (perf: sock_def_readable), and batching per turn took writes
// from 0.62 to 0.51 per request. The queue is written after the turn's reads (setImmediate runs
// once the poll phase is done), or at once where the connection must (its end, its preface).
import type net from 'node:net';
import { keepShape } from './shapes.js';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

/** Bytes queued on the socket past which reading stops until they drain (the client does not read). */
const WRITE_HIGH_WATER = 1 << 20;

const queued = new Set<ConnectionWrites>();
// The shape of node's Immediate, one of which writeQueued() runs in each turn with answers (shapes.ts).
keepShape(setImmediate(() => {}));
let scheduled = false;

function writeQueued(): void {
  scheduled = false;
  // Each taken off before it writes: one queued again meanwhile is visited again, not cleared unwritten.
  for (const w of queued) {
    queued.delete(w);
    w.now();
  }
}

export class ConnectionWrites {
  private readonly out: Buffer[] = [];
  private paused = false;

  constructor(private readonly socket: net.Socket) {
    socket.on('drain', () => {
      if (this.paused) {
        this.paused = false;
        socket.resume();
      }
    });
  }

  /** Queues `b` (sent in order with what is queued before it). */
  push(b: Buffer): void {
    this.out.push(b);
  }

  /** Writes what is queued at the end of this event-loop turn. */
  soon(): void {
    if (this.out.length === 0) return;
    queued.add(this);
    if (!scheduled) {
      scheduled = true;
      setImmediate(writeQueued);
    }
  }

  /** Writes what is queued now, in one write. */
  now(): void {
    const out = this.out;
    if (out.length === 0) return;
    const socket = this.socket;
    const b = out.length === 1 ? out[0]! : Buffer.concat(out);
    // Emptied by pop(): setting length to 0 is a runtime call and drops the array's storage, grown again by the next push.
    while (out.length > 0) out.pop();
    if (socket.destroyed || !socket.writable) return;
    socket.write(b);
    if (socket.writableLength > WRITE_HIGH_WATER && !this.paused) {
      // The client does not read what we send: stop reading what it sends until it does.
      this.paused = true;
      socket.pause();
    }
  }
}
