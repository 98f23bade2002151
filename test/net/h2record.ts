// A recording HTTP/2 proxy for HPACK tests: a real node:http2 server behind a net.Server that
// parses the client's frames and decodes each header block with our HpackDecoder, so our reading
// and the server's (nghttp2's) reading of the same bytes can be compared.
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { HpackDecoder } from '../../src/net/hpack.js';

export type Fields = Array<[string, string]>;
export const PREFACE = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 3.4)
export const closers: Array<() => void> = [];

export const pairs = (flat: string[]): Fields => {
  const out: Fields = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};
export const port = (s: net.Server | http2.Http2Server) => (s.address() as AddressInfo).port;
export const listen = (s: net.Server | http2.Http2Server) => new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));

/**
 * A real node:http2 server (SETTINGS_HEADER_TABLE_SIZE `tableSize`) behind a proxy that parses the
 * client's frames (RFC 9113 4.1, 6.2, 6.10) and decodes each header block with one HpackDecoder
 * per connection, the way the transport will: our advertised limit applies once the client ACKs
 * our SETTINGS. `grpcAnswer` makes the server answer as a gRPC unary call would.
 */
export async function recordingPair(tableSize: number, grpcAnswer: boolean) {
  const ours = new Map<number, Fields>(); // stream id -> our decoding
  const blocks: Buffer[] = []; // the raw blocks, in order
  const decoders: HpackDecoder[] = [];
  const errors: string[] = []; // our decoder's errors (the proxy goes on forwarding)
  const theirs = new Map<number, Fields>(); // stream id -> the server's rawHeaders
  const server = http2.createServer({ settings: { headerTableSize: tableSize } });
  server.on('stream', (stream: http2.ServerHttp2Stream, _headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
    theirs.set(stream.id!, pairs(raw));
    stream.resume();
    if (!grpcAnswer) { stream.respond({ ':status': 200 }); stream.end(); return; }
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5)); // one empty, uncompressed message
    });
  });
  await listen(server);
  const sockets: net.Socket[] = [];
  const proxy = net.createServer((client) => {
    const up = net.connect(port(server), '127.0.0.1');
    sockets.push(client, up);
    client.pipe(up); up.pipe(client);
    const decoder = new HpackDecoder();
    decoders.push(decoder);
    let pending = Buffer.alloc(0), skip = PREFACE, block: Buffer[] = [], blockStream = 0;
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (skip > 0) { const n = Math.min(skip, pending.length); skip -= n; pending = pending.subarray(n); }
      while (pending.length >= 9) {
        const len = pending.readUIntBE(0, 3), type = pending[3]!, flags = pending[4]!, sid = pending.readUInt32BE(5) & 0x7fffffff;
        if (pending.length < 9 + len) break;
        let payload = pending.subarray(9, 9 + len);
        pending = pending.subarray(9 + len);
        if (type === 4 && flags & 1) decoder.setMaxTableSize(tableSize); // SETTINGS ACK of ours
        if (type !== 1 && type !== 9) continue;
        if (type === 1) { // HEADERS: strip padding and priority
          let start = 0, end = payload.length;
          if (flags & 0x08) { start = 1; end -= payload[0]!; }
          if (flags & 0x20) start += 5;
          payload = payload.subarray(start, end);
          block = []; blockStream = sid;
        }
        block.push(payload);
        if (flags & 0x04) { // END_HEADERS
          const fields: Fields = [];
          blocks.push(Buffer.concat(block));
          try {
            decoder.decode(blocks[blocks.length - 1]!, (n, v) => fields.push([n, v]));
            ours.set(blockStream, fields);
          } catch (e) { errors.push(`stream ${blockStream}: ${String(e)}`); }
        }
      }
    });
  });
  await listen(proxy);
  closers.push(() => { for (const s of sockets) s.destroy(); proxy.close(); server.close(); });
  return { port: port(proxy), ours, theirs, blocks, decoders, errors };
}

