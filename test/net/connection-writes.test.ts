// ConnectionWrites (src/net/writes.ts): what a connection queues during an event-loop turn goes
// out in one socket write once the turn's reads are done (setImmediate: after the poll phase),
// in the order queued; now() writes at once; a client that does not read stops the connection's
// reads past 1 MiB queued (the socket is paused) until the socket drains. Over a real loopback
// socket; the count of writes is the server socket's own write() calls.
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionWrites } from '../../src/net/writes.js';

interface Pair {
  server: net.Socket;
  client: net.Socket;
  /** The buffers the server socket was asked to write, one per write() call. */
  writes: Buffer[];
  close(): void;
}

async function pair(): Promise<Pair> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as net.AddressInfo;
  const accepted = once(listener, 'connection');
  const client = net.connect(port, '127.0.0.1');
  const [server] = (await accepted) as [net.Socket];
  const writes: Buffer[] = [];
  const write = server.write.bind(server) as (b: Buffer) => boolean;
  server.write = ((b: Buffer) => {
    writes.push(Buffer.from(b));
    return write(b);
  }) as typeof server.write;
  return {
    server, client, writes,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ConnectionWrites', () => {
  let p: Pair | undefined;
  afterEach(() => p?.close());

  it('writes what two reads of one turn queued in one write, after the turn, in order', async () => {
    p = await pair();
    const w = new ConnectionWrites(p.server);
    const received: Buffer[] = [];
    p.client.on('data', (c: Buffer) => received.push(c));
    // As two reads of one turn each completing an answer: queue, soon(), queue, soon().
    w.push(Buffer.from('first answer;'));
    w.soon();
    w.push(Buffer.from('second answer;'));
    w.push(Buffer.from('third frame'));
    w.soon();
    expect(p.writes).toHaveLength(0); // nothing before the turn's end
    await turnEnd();
    expect(p.writes.map((b) => b.toString())).toEqual(['first answer;second answer;third frame']);
    while (Buffer.concat(received).length < 38) await once(p.client, 'data');
    expect(Buffer.concat(received).toString()).toBe('first answer;second answer;third frame');
    // A later turn's queue is a write of its own; soon() with nothing queued writes nothing.
    w.soon();
    await turnEnd();
    expect(p.writes).toHaveLength(1);
    w.push(Buffer.from('next turn'));
    w.soon();
    await turnEnd();
    expect(p.writes.map((b) => b.toString())).toEqual(['first answer;second answer;third frame', 'next turn']);
  });

  it('writes at once with now(), and a connection queued for the turn\'s end then has nothing left to write', async () => {
    p = await pair();
    const w = new ConnectionWrites(p.server);
    w.push(Buffer.from('queued'));
    w.soon();
    w.push(Buffer.from(' and ended'));
    w.now(); // as the connection's end does: everything queued, in one write, now
    expect(p.writes.map((b) => b.toString())).toEqual(['queued and ended']);
    await turnEnd();
    expect(p.writes).toHaveLength(1);
  });

  it('connections queued in one turn each get one write', async () => {
    p = await pair();
    const q = await pair();
    try {
      const a = new ConnectionWrites(p.server);
      const b = new ConnectionWrites(q.server);
      a.push(Buffer.from('a1'));
      a.soon();
      b.push(Buffer.from('b1'));
      b.soon();
      a.push(Buffer.from('a2'));
      a.soon();
      await turnEnd();
      expect(p.writes.map((x) => x.toString())).toEqual(['a1a2']);
      expect(q.writes.map((x) => x.toString())).toEqual(['b1']);
    } finally {
      q.close();
    }
  });

  it('stops reading past 1 MiB the client has not read, and reads again once it drained', async () => {
    p = await pair();
    const w = new ConnectionWrites(p.server);
    p.client.pause(); // a client that does not read
    p.server.resume();
    // 1 MiB (src/net/writes.ts WRITE_HIGH_WATER) is more than the socket buffers take on loopback.
    for (let i = 0; i < 40 && !p.server.isPaused(); i++) {
      w.push(Buffer.alloc(256 * 1024, i));
      w.now();
    }
    expect(p.server.isPaused()).toBe(true);
    expect(p.server.writableLength).toBeGreaterThan(1 << 20);
    p.client.resume(); // it reads: the server socket drains and reads again
    await once(p.server, 'drain');
    expect(p.server.isPaused()).toBe(false);
  });
});
