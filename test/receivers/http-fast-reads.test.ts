// The fast path's reads (src/receivers/http-fast.ts with src/net/reads.ts): the kernel writes each
// connection's bytes into buffers the fast path owns (a shared one between requests, the
// connection's own for a body), which it moves, grows and reuses. Here on a bare node:http server
// with the fast path installed and an answer() that keeps a copy of each body: every body must
// arrive byte for byte as the test sent it, through answer() (the fast path, not node:http), however
// the bytes are cut, on one connection or several at once.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { installFastPath, type FastAnswer, type FastPath } from '../../src/receivers/http-fast.js';
import { BufferPool, userReads } from '../../src/net/reads.js';
import { Watchdog } from '../../src/net/watchdog.js';
import type { BudgetTicket } from '../../src/receivers/budget.js';

const OK: FastAnswer = { status: 200, contentType: 'application/x-protobuf', body: new Uint8Array(0) };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function start(maxBodyBytes = 8 * 1024 * 1024) {
  const viaNode: string[] = [];
  const server = http.createServer((req, res) => {
    viaNode.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.end());
  });
  const bodies: Buffer[] = [];
  const fast = installFastPath({
    server, maxBodyBytes, watchdog: new Watchdog(), write_timeout: 0, stalled_request_timeout: 0,
    accepts: (type) => type === 'application/x-protobuf',
    acquire: (): BudgetTicket => ({ release() {}, grow: () => true }),
    answer: (body) => {
      bodies.push(Buffer.from(body)); // a copy: the view is the connection's read buffer
      return OK;
    },
    onCut() {}, onReadTimeout() {}, onError() {},
  });
  expect(fast).toBeDefined();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets: net.Socket[] = [];
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    fast!.closeAll();
    await new Promise((r) => server.close(r));
  });
  const port = (server.address() as AddressInfo).port;
  const connect = () => {
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    let got = '';
    socket.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    return { socket, answers: () => (got.match(/HTTP\/1\.1 200 OK/g) ?? []).length };
  };
  return { bodies, viaNode, fast: fast as FastPath, connect };
}

/** n bytes that differ from one request to the next (a linear congruential sequence from `seed`). */
function bytesOf(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const head = (length: number) => Buffer.from(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${length}\r\n\r\n`, 'latin1');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (f: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
};

describe('OTLP/HTTP fast path reads', () => {
  it('is available in this Node (net.Socket onread machinery found)', () => {
    expect(userReads()).toBe(true);
  });

  it('bodies smaller and larger than a read, growing and shrinking on one connection, each whole', async () => {
    const { bodies, viaNode, connect } = await start();
    const c = connect();
    // 10 KB fits the shared 64 KiB buffer; 300 KB needs a buffer of the connection's own; 1.5 MB one
    // over the 1 MiB it keeps between requests; then smaller again.
    const sent = [10_000, 300_000, 1_500_000, 30_000, 300_000, 0, 70_000].map((n, i) => bytesOf(n, i + 1));
    let seed = 11;
    for (const b of sent) {
      // The head with the first bytes of its body in one write (a head cut in two goes to node:http),
      // the rest in pieces of 1 to 100,000 bytes.
      let at = Math.min(b.length, 500);
      c.socket.write(Buffer.concat([head(b.length), b.subarray(0, at)]));
      while (at < b.length) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const n = 1 + (seed % 100_000);
        c.socket.write(b.subarray(at, at + n));
        at += n;
        if (seed % 3 === 0) await sleep(1);
      }
      await sleep(2);
    }
    await until(() => c.answers() === sent.length);
    expect(viaNode).toEqual([]);
    expect(bodies.length).toBe(sent.length);
    for (let i = 0; i < sent.length; i++) expect(bodies[i]!.equals(sent[i]!), `body ${i}`).toBe(true);
  });

  it('requests back to back in one write, the next head right after a large body', async () => {
    const { bodies, viaNode, connect } = await start();
    const c = connect();
    const sent = [200_000, 5, 120_000, 64 * 1024].map((n, i) => bytesOf(n, 100 + i));
    c.socket.write(Buffer.concat(sent.flatMap((b) => [head(b.length), b])));
    await until(() => c.answers() === sent.length);
    expect(viaNode).toEqual([]);
    for (let i = 0; i < sent.length; i++) expect(bodies[i]!.equals(sent[i]!), `body ${i}`).toBe(true);
  });

  it('five connections with bodies in progress at once, their pieces interleaved', async () => {
    const { bodies, viaNode, connect } = await start();
    const conns = [0, 1, 2, 3, 4].map(() => connect());
    const sent = conns.map((_, i) => bytesOf(90_000 + i * 40_000, 200 + i));
    for (let i = 0; i < conns.length; i++) conns[i]!.socket.write(Buffer.concat([head(sent[i]!.length), sent[i]!.subarray(0, 1000)]));
    await sleep(20);
    // Each body's rest in ten pieces, connection after connection.
    for (let piece = 0; piece < 10; piece++) {
      for (let i = 0; i < conns.length; i++) {
        const b = sent[i]!;
        const step = Math.ceil((b.length - 1000) / 10);
        conns[i]!.socket.write(b.subarray(1000 + piece * step, 1000 + (piece + 1) * step));
      }
      await sleep(2);
    }
    await until(() => conns.every((c) => c.answers() === 1));
    expect(viaNode).toEqual([]);
    const byLength = (a: Buffer, b: Buffer) => a.length - b.length;
    expect(bodies.map((b) => b.length).sort((a, b) => a - b)).toEqual(sent.map((b) => b.length));
    const got = [...bodies].sort(byLength);
    for (let i = 0; i < sent.length; i++) expect(got[i]!.equals(sent[i]!), `body ${i}`).toBe(true);
  });

  it('a request it does not take goes to node:http with the bytes read so far, and so does the rest', async () => {
    const { bodies, viaNode, connect } = await start();
    const c = connect();
    const first = bytesOf(100_000, 300);
    // A body in progress on the connection's own buffer, then (in the same write as its last bytes) a GET.
    c.socket.write(Buffer.concat([head(first.length), first.subarray(0, 50_000)]));
    await sleep(10);
    c.socket.write(Buffer.concat([first.subarray(50_000), Buffer.from('GET /other HTTP/1.1\r\nHost: x\r\n\r\n')]));
    await until(() => c.answers() === 2);
    c.socket.write(Buffer.concat([head(3), Buffer.from('abc')]));
    await until(() => c.answers() === 3);
    expect(bodies.map((b) => b.length)).toEqual([100_000]);
    expect(bodies[0]!.equals(first)).toBe(true);
    expect(viaNode).toEqual(['GET /other', 'POST /v1/traces']);
  });
});

describe('BufferPool', () => {
  it('gives back a kept buffer that fits, up to its limits', () => {
    const pool = new BufferPool(1000, 600);
    const a = pool.take(300, 100);
    expect(a.length).toBe(300);
    pool.give(a);
    pool.give(Buffer.alloc(700)); // over `largest` (600): not kept
    expect(pool.kept).toBe(300);
    expect(pool.take(250, 100)).toBe(a); // 300 >= 250 and not more than twice the need
    expect(pool.kept).toBe(0);
    expect(pool.take(250, 100).length).toBe(300); // none left: a new one, rounded up to the unit
  });

  it('gives the buffer given back last first (its bytes the likeliest in cache), skipping ones that do not fit', () => {
    const pool = new BufferPool(10_000, 1000);
    const [a, b, small] = [Buffer.alloc(400), Buffer.alloc(400), Buffer.alloc(100)];
    pool.give(a);
    pool.give(b);
    pool.give(small);
    expect(pool.take(300, 100)).toBe(b); // small (100) is too small; b was given after a
    expect(pool.take(300, 100)).toBe(a);
    expect(pool.take(100, 100)).toBe(small);
    expect(pool.kept).toBe(0);
  });
});
