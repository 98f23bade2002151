// HPACK against real HTTP/2 stacks: the header blocks a real node:http2 client (nghttp2's encoder)
// and a real @grpc/grpc-js client send go through a recording proxy to a real node:http2 server;
// our decoder's reading of the recorded blocks must equal both what the client was told to send
// and what the server (nghttp2's decoder) read from the same bytes. And encodeFields' blocks must
// read back, through a real node:http2 client, as the fields we encoded.
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFields } from '../../src/net/hpack.js';
import { closers, listen, pairs, port, PREFACE, recordingPair, type Fields } from './h2record.js';

afterEach(() => { while (closers.length) closers.pop()!(); });

describe('decoding real clients\' header blocks', () => {
  it('node:http2 client (nghttp2): dynamic table with evictions, a table size update, never-indexed and Huffman literals', async () => {
    const rec = await recordingPair(256, false); // 256 octets, as RFC 7541 C.5: evictions happen
    const session = http2.connect(`http://127.0.0.1:${rec.port}`);
    closers.push(() => session.destroy());
    // Every octet Node lets through a header value (tab, 0x20-0x7e, 0x80-0xff), a few per request,
    // behind 40 'e's so that nghttp2 Huffman-codes the value (it does when that is shorter).
    const octets = [0x09];
    for (let c = 0x20; c <= 0x7e; c++) octets.push(c);
    for (let c = 0x80; c <= 0xff; c++) octets.push(c);
    const told: Fields[] = [];
    for (let i = 0, at = 0; at < octets.length; i++) {
      const some = String.fromCharCode(...octets.slice(at, at += 3));
      const headers: Fields = [
        [':method', 'POST'], [':path', `/svc/Method${i % 3}`], [':scheme', 'http'], [':authority', 'spanmeter.test'],
        ['content-type', 'application/grpc'], ['x-fixed', 'same-every-time'], ['x-count', String(i)],
        ['x-octets', 'e'.repeat(40) + some], ['x-long', String(i % 2).repeat(150)],
        ['authorization', `Bearer token-${i % 2}`],
      ];
      told.push(headers);
      const req = session.request({ ...Object.fromEntries(headers), [http2.sensitiveHeaders]: ['authorization'] }, { endStream: true });
      await new Promise<void>((resolve, reject) => { req.on('response', () => { req.resume(); req.on('end', resolve); }); req.on('error', reject); });
    }
    expect(rec.errors).toEqual([]);
    expect(rec.ours.size).toBe(told.length);
    const ids = [...rec.ours.keys()];
    for (let k = 0; k < told.length; k++) {
      const ours = rec.ours.get(ids[k]!)!;
      expect(ours).toEqual(rec.theirs.get(ids[k]!)); // nghttp2's decoder, same bytes
      expect(new Map(ours)).toEqual(new Map(told[k]!)); // what the client was told (its order is Node's)
    }
    // The representations this was meant to cover (RFC 7541 6.x), seen in the raw blocks:
    // a size update to 256 at a block's start (0x3f e1 01: 31 + 0x61 + 1 * 128 = 256) ...
    expect(rec.blocks.some((b) => b.subarray(0, 3).equals(Buffer.from([0x3f, 0xe1, 0x01])))).toBe(true);
    // ... authorization (static name 23 = 15 + 8) never indexed (0001 prefix): 0x1f 0x08 ...
    expect(rec.blocks.every((b) => b.includes(Buffer.from([0x1f, 0x08])))).toBe(true);
    // ... and the dynamic table, kept within 256 octets (entries evicted: x-long alone is 188).
    expect(rec.decoders.length).toBe(1);
    expect(rec.decoders[0]!.tableLength).toBeGreaterThan(0);
    expect(rec.decoders[0]!.tableSize).toBeLessThanOrEqual(256);
  });

  it('@grpc/grpc-js client: unary calls with metadata on one channel', async () => {
    const rec = await recordingPair(4096, true);
    const client = new grpc.Client(`127.0.0.1:${rec.port}`, grpc.credentials.createInsecure());
    closers.push(() => client.close());
    const path = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
    const told: Array<Record<string, string>> = [];
    for (let i = 0; i < 4; i++) {
      const md = new grpc.Metadata();
      md.set('x-tenant', `tenant-${i % 2}`);
      md.set('x-request', `call ${i}`);
      told.push({ 'x-tenant': `tenant-${i % 2}`, 'x-request': `call ${i}` });
      await new Promise<void>((resolve, reject) => client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from([1, 2, 3]), md,
        (err) => (err ? reject(err) : resolve())));
    }
    expect(rec.errors).toEqual([]);
    expect(rec.ours.size).toBe(4);
    const ids = [...rec.ours.keys()];
    for (let k = 0; k < 4; k++) {
      const ours = rec.ours.get(ids[k]!)!;
      expect(ours).toEqual(rec.theirs.get(ids[k]!));
      const got = Object.fromEntries(ours);
      // the gRPC over HTTP/2 spec's request headers (PROTOCOL-HTTP2.md: Request-Headers), the call's metadata
      expect(got).toMatchObject({ ':method': 'POST', ':scheme': 'http', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...told[k]! });
      expect(got[':authority']).toBe(`127.0.0.1:${rec.port}`);
    }
    // after the first call, the repeated fields are indexed from the dynamic table: blocks shrink
    for (const b of rec.blocks.slice(1)) expect(b.length).toBeLessThan(rec.blocks[0]!.length / 2);
  });
});

describe('encodeFields read by a real node:http2 client', () => {
  it('the response headers and trailers equal the fields', async () => {
    const head: Fields = [[':status', '200'], ['content-type', 'application/grpc'], ['grpc-accept-encoding', 'identity,gzip'], ['grpc-encoding', 'identity']];
    const trailers: Fields = [['grpc-status', '8'], ['grpc-message', 'over%20the%20limit: ok ~ é'], ['retry-after', '3'], ['grpc-status-details-bin', 'CAgSBGJ1c3k']];
    const frame = (type: number, flags: number, sid: number, payload: Buffer) => {
      const h = Buffer.alloc(9);
      h.writeUIntBE(payload.length, 0, 3); h[3] = type; h[4] = flags; h.writeUInt32BE(sid, 5);
      return Buffer.concat([h, payload]);
    };
    const server = net.createServer((sock) => {
      sock.write(frame(4, 0, 0, Buffer.alloc(0))); // our SETTINGS (none)
      let got = Buffer.alloc(0), answered = false;
      sock.on('data', (c: Buffer) => {
        got = Buffer.concat([got, c]);
        let off = PREFACE;
        while (!answered && got.length >= off + 9) {
          const len = got.readUIntBE(off, 3), type = got[off + 3]!, flags = got[off + 4]!;
          if (got.length < off + 9 + len) break;
          if (type === 4 && !(flags & 1)) sock.write(frame(4, 1, 0, Buffer.alloc(0))); // ACK theirs
          if (type === 1) {
            answered = true;
            const sid = got.readUInt32BE(off + 5) & 0x7fffffff;
            sock.write(Buffer.concat([
              frame(1, 0x04, sid, encodeFields(head)), // HEADERS, END_HEADERS
              frame(0, 0, sid, Buffer.alloc(5)),
              frame(1, 0x05, sid, encodeFields(trailers)), // HEADERS, END_HEADERS | END_STREAM
            ]));
          }
          off += 9 + len;
        }
      });
    });
    await listen(server);
    const session = http2.connect(`http://127.0.0.1:${port(server)}`);
    closers.push(() => { session.destroy(); server.close(); });
    const req = session.request({ ':method': 'POST', ':path': '/x' }, { endStream: true });
    const [gotHead, gotTrailers] = await Promise.all([
      new Promise<string[]>((r) => req.on('response', (_h: unknown, _f: unknown, raw: string[]) => r(raw))),
      new Promise<string[]>((r) => req.on('trailers', (_h: unknown, _f: unknown, raw: string[]) => r(raw))),
      new Promise<void>((r) => { req.resume(); req.on('end', r); }),
    ]);
    expect(pairs(gotHead)).toEqual(head);
    expect(pairs(gotTrailers)).toEqual(trailers);
  });
});
