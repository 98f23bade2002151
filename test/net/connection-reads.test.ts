// ConnectionReads (src/net/reads.ts): a connection's reads land in buffers the receiver owns and a
// consumer takes whole frames off them; a frame split across reads is kept (moved to the
// connection's own buffer) until the rest comes, whatever other connections read meanwhile. The
// frames are HTTP/2's layout (RFC 9113 §4.1: 24-bit length, type, flags, stream id, payload),
// built here by hand; the expected frames are the ones written.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionReads } from '../../src/net/reads.js';

function frame(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  payload.copy(b, 9);
  return b;
}

/** `n` bytes counting up from `seed` (mod 251), so a byte moved or lost shows. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i) % 251;
  return b;
}

/** The server side of one connection: the frames taken (copied), and the bytes seen so far. */
class Taker {
  readonly frames: { type: number; payload: Buffer }[] = [];
  seen = 0;
  /** The most bytes left held between reads. */
  maxHeld = 0;
  reads: ConnectionReads | undefined;
  private consumed = 0;

  readonly take = (b: Buffer, start: number, end: number): number => {
    this.seen = this.consumed + (end - start);
    let at = start;
    while (end - at >= 9) {
      const length = b.readUIntBE(at, 3);
      if (end - at < 9 + length) break;
      this.frames.push({ type: b[at + 3]!, payload: Buffer.from(b.subarray(at + 9, at + 9 + length)) });
      at += 9 + length;
    }
    this.consumed += at - start;
    this.maxHeld = Math.max(this.maxHeld, end - at);
    return at;
  };
}

describe('ConnectionReads', () => {
  let server: net.Server;
  const accepted: ((s: net.Socket) => void)[] = [];
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    server = net.createServer((s) => accepted.shift()!(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A connection whose server side reads through a Taker (`initial`: bytes given as already read). */
  const connect = async (initial?: Buffer): Promise<{ client: net.Socket; taker: Taker }> => {
    const taker = new Taker();
    const ready = new Promise<void>((resolve) => accepted.push((s) => {
      sockets.push(s);
      taker.reads = new ConnectionReads(s, taker.take, initial);
      resolve();
    }));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.setNoDelay(true);
    sockets.push(client);
    await ready;
    return { client, taker };
  };

  /** Writes `bytes` and waits until the server side has seen `total` bytes in all. */
  const send = async (client: net.Socket, taker: Taker, bytes: Buffer, total: number): Promise<void> => {
    client.write(bytes);
    for (let i = 0; taker.seen < total; i++) {
      if (i > 2000) throw new Error(`server saw ${taker.seen} of ${total} bytes`);
      await new Promise((r) => setTimeout(r, 1));
    }
  };

  it('takes the same frames whatever byte the stream is split at across reads', async () => {
    const frames = [frame(0, Buffer.alloc(0)), frame(1, pattern(1, 7)), frame(0, pattern(40, 3)), frame(6, pattern(8, 9))];
    const wire = Buffer.concat(frames);
    for (let at = 1; at < wire.length; at++) {
      const { client, taker } = await connect();
      await send(client, taker, wire.subarray(0, at), at);
      await send(client, taker, wire.subarray(at), wire.length);
      expect(taker.frames.map((f) => frame(f.type, f.payload)), `split at ${at}`).toEqual(frames);
      client.destroy();
    }
  });

  it('keeps frames of 16 KiB split across reads past its 64 KiB buffer, holding at most one partial frame', async () => {
    // Five 16,384-byte frames: 81,965 bytes, more than one read buffer, in writes of 10,000 bytes.
    const frames = [0, 1, 2, 3, 4].map((i) => frame(0, pattern(16384, i)));
    const wire = Buffer.concat(frames);
    const { client, taker } = await connect();
    for (let at = 0; at < wire.length; at += 10_000) await send(client, taker, wire.subarray(at, at + 10_000), Math.min(at + 10_000, wire.length));
    expect(taker.frames.map((f) => frame(f.type, f.payload))).toEqual(frames);
    expect(taker.maxHeld).toBeLessThan(9 + 16384);
    expect(taker.reads!.held).toBe(0);
  });

  it('keeps a connection\'s partial frame while another connection reads (the idle read buffer is shared)', async () => {
    const a = await connect();
    const b = await connect();
    const fa = frame(0, pattern(3000, 1));
    const fb = frame(0, pattern(3000, 2));
    await send(a.client, a.taker, fa.subarray(0, 1000), 1000);
    await send(b.client, b.taker, Buffer.concat([fb, fb.subarray(0, 2000)]), fb.length + 2000);
    await send(a.client, a.taker, fa.subarray(1000), fa.length);
    await send(b.client, b.taker, fb.subarray(2000), 2 * fb.length);
    expect(a.taker.frames.map((f) => frame(f.type, f.payload))).toEqual([fa]);
    expect(b.taker.frames.map((f) => frame(f.type, f.payload))).toEqual([fb, fb]);
  });

  it('takes the bytes read before it was made first, a partial frame in them completed by the socket', async () => {
    const f = frame(0, pattern(500, 5));
    const { client, taker } = await connect(f.subarray(0, 100));
    await send(client, taker, f.subarray(100), f.length);
    expect(taker.frames.map((x) => frame(x.type, x.payload))).toEqual([f]);
  });
});
