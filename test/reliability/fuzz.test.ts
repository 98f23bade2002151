// Fuzz: 100,000 malformed and mutated OTLP payloads (protobuf and JSON) generated, each distinct
// one (some 70,000) sent to a real sidecar's HTTP receiver over keep-alive (protobuf on its fast
// path and through node:http, JSON through node:http), and 5,000 over gRPC. Every one is answered
// (2xx/4xx, never 5xx, no hang), the process stays up, and a known good stream sent alongside
// shows up on /metrics exactly. Its time is the requests' (the sidecar's ~150 us of CPU each),
// hence a client that costs little and no input sent twice. Seeded (test/support/prng.ts): the seed is in the test's name, and
// TEST_SEED=<seed> npx vitest run test/reliability/fuzz.test.ts replays a failure.
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetricsText, startSidecar, type Sidecar } from '../support/sidecar.js';
import { encodeRequest, requestToOtlpJson, type Msg } from '../support/otlp-input.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { grpcCall, requestMsg } from '../reliability/helpers.js';
import { Prng, testSeed } from '../support/prng.js';

const SEED = testSeed(0x5eed);
const HTTP_CASES = 100_000;
const GRPC_CASES = 5_000;
const GOOD_EVERY = 250;

const rng = new Prng(SEED);
const int = (n: number): number => rng.below(n);

function richSeed(): Msg {
  const m = requestMsg('fuzz-seed', 3, 'GET /x') as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
  const spans = m.resourceSpans[0]!.scopeSpans[0]!.spans;
  spans[0]!.attributes = [
    { key: 'http.method', value: { stringValue: 'GET' } },
    { key: 'n', value: { intValue: 42 } },
    { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { doubleValue: 1.5 }] } } },
    { key: 'kv', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
  ];
  spans[1]!.status = { code: 2, message: 'boom' };
  spans[2]!.kind = 3;
  spans[2]!.parentSpanId = new Uint8Array(8).fill(7);
  spans[1]!.events = [{ name: 'e', timeUnixNano: 1 }];
  return m;
}

const seedMsg = richSeed();
const seedPb = encodeRequest(seedMsg);
const seedJson = Buffer.from(requestToOtlpJson(seedMsg));

function mutate(base: Uint8Array): Uint8Array {
  const b = Buffer.from(base);
  switch (int(9)) {
    case 0: // truncate
      return b.subarray(0, int(b.length));
    case 1: { // flip bytes
      const n = 1 + int(4);
      for (let i = 0; i < n; i++) b[int(b.length)]! ^= 1 << int(8);
      return b;
    }
    case 2: { // insert random bytes
      const at = int(b.length + 1);
      const ins = Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256)));
      return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
    }
    case 3: { // duplicate a slice (repeated / duplicated fields)
      const s = int(b.length);
      const e = Math.min(b.length, s + 1 + int(64));
      const at = int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(s, e), b.subarray(at)]);
    }
    case 4: { // huge length: a LEN field claiming gigabytes
      const at = int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), b.subarray(at)]);
    }
    case 5: // the whole message repeated (duplicate top-level fields)
      return Buffer.concat([b, b]);
    case 6: // random garbage
      return Buffer.from(Array.from({ length: int(200) }, () => int(256)));
    case 7: { // overwrite a run with one byte value
      const s = int(b.length);
      b.fill(int(256), s, Math.min(b.length, s + 1 + int(16)));
      return b;
    }
    default: // delete a run
    {
      const s = int(b.length);
      return Buffer.concat([b.subarray(0, s), b.subarray(Math.min(b.length, s + 1 + int(32)))]);
    }
  }
}

/** Deeply nested protobuf (LEN inside LEN … as resource_spans/scope_spans/attributes) or JSON. */
function deep(json: boolean): Uint8Array {
  const depth = 100 + int(5000);
  if (json) {
    const open = int(2) ? '{"resourceSpans":[' : '{"a":';
    return Buffer.from(open.repeat(depth) + '1' + (open.endsWith('[') ? ']}' : '}').repeat(depth));
  }
  let inner: Buffer = Buffer.from([0x0a, 0x00]);
  for (let i = 0; i < Math.min(depth, 300); i++) {
    const len: number[] = [];
    let n = inner.length;
    do {
      len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    inner = Buffer.concat([Buffer.from([[0x0a, 0x12, 0x3a, 0x2a][int(4)]!, ...len]), inner]);
  }
  return inner;
}

function fuzzCase(): { body: Uint8Array; contentType: string } {
  const r = int(100);
  if (r < 45) return { body: mutate(seedPb), contentType: 'application/x-protobuf' };
  if (r < 85) return { body: mutate(seedJson), contentType: 'application/json' };
  if (r < 92) return { body: deep(int(2) === 1), contentType: int(2) ? 'application/json' : 'application/x-protobuf' };
  if (r < 96) return { body: mutate(seedJson), contentType: 'application/x-protobuf' }; // wrong type
  return { body: mutate(seedPb), contentType: 'application/json' };
}

/**
 * One keep-alive HTTP/1.1 connection, one request at a time, written and read by hand: a
 * node:http client costs the test about as much CPU per request as the sidecar spends answering
 * it. Every answer the receiver sends has a Content-Length (receivers/http.ts send(), the fast
 * path's prepared answers); after `Connection: close` the next request opens a new connection.
 */
class RawHttp {
  private socket: net.Socket | undefined;
  private got: Buffer[] = [];
  private gotBytes = 0;
  private waiting: { resolve(status: number): void; reject(e: Error): void; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly host: string, private readonly port: number) {}

  post(path: string, contentType: string, body: Uint8Array): Promise<number> {
    const socket = this.socket ?? this.connect();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error('no answer within 10 s')), 10_000);
      this.waiting = { resolve, reject, timer };
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1');
      socket.write(body);
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private connect(): net.Socket {
    const socket = net.connect(this.port, this.host);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.got.push(chunk);
      this.gotBytes += chunk.length;
      this.answer();
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed before the answer')));
    this.socket = socket;
    return socket;
  }

  /** Settles the request in flight once its answer (head and Content-Length bytes of body) is in. */
  private answer(): void {
    const all = this.got.length === 1 ? this.got[0]! : Buffer.concat(this.got, this.gotBytes);
    const headEnd = all.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = all.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length || !head.startsWith('HTTP/1.1 ')) return this.fail(new Error(`not an HTTP/1.1 answer with a Content-Length: ${JSON.stringify(head.slice(0, 200))}`));
    const end = headEnd + 4 + Number(length[1]);
    if (all.length < end) {
      this.got = [all];
      return;
    }
    if (all.length > end) return this.fail(new Error('bytes past the answer to the one request in flight'));
    this.got = [];
    this.gotBytes = 0;
    if (/\r\nconnection: *close/i.test(head)) this.drop();
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.resolve(Number(head.slice(9, 12)));
    }
  }

  private drop(): void {
    const s = this.socket;
    this.socket = undefined;
    s?.removeAllListeners('close');
    s?.on('error', () => {});
    s?.destroy();
  }

  private fail(e: Error): void {
    this.drop();
    this.got = [];
    this.gotBytes = 0;
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }
}

let sidecar: Sidecar;
beforeAll(async () => {
  sidecar = await startSidecar({ grpc: true, label: 'fuzz', config: { log_level: 'error' } });
}, 30_000);
afterAll(async () => {
  await sidecar?.stop();
});

describe('fuzz', () => {
  it(`answers the distinct ones of ${HTTP_CASES} malformed payloads, and ${GRPC_CASES} over gRPC, with 2xx/4xx, stays up, keeps a good stream exact (seed ${SEED})`, async () => {
    const url = new URL(sidecar.otlpHttpUrl);
    const conns: RawHttp[] = [];
    const connection = (): RawHttp => {
      const c = new RawHttp(url.hostname, Number(url.port));
      conns.push(c);
      return c;
    };
    const statuses = new Map<number, number>();
    let goodSpans = 0;
    let goodSent = 0;
    const failures: string[] = [];
    const sent = new Set<string>();
    let next = 0;
    // Each worker has two connections. The receiver's fast path keeps a connection while its
    // requests are protobuf (receivers/http-fast.ts) and hands it to node:http for good at the
    // first JSON one; so protobuf-typed cases go on one that stays on the fast path (the path
    // real senders' protobuf takes), JSON-typed ones and every fourth protobuf one on the other.
    const worker = async (): Promise<void> => {
      const fast = connection();
      const mixed = connection();
      const post = (body: Uint8Array, contentType: string, i: number): Promise<number> =>
        (contentType === 'application/x-protobuf' && i % 4 !== 0 ? fast : mixed).post('/v1/traces', contentType, body);
      while (next < HTTP_CASES) {
        const i = next++;
        if (i % GOOD_EVERY === 0) {
          const n = 1 + ((i / GOOD_EVERY) % 5);
          const good = requestMsg('good-stream', n, 'good-op');
          const json = (i / GOOD_EVERY) % 2 === 1;
          const status = await post(json ? Buffer.from(requestToOtlpJson(good)) : encodeRequest(good), json ? 'application/json' : 'application/x-protobuf', i);
          goodSent++;
          if (status === 200) goodSpans += n;
          else failures.push(`good request ${i}: ${status}`);
        }
        const c = fuzzCase();
        // A mutation may give bytes an earlier one gave (a doubled message, a short truncation):
        // about 30% of them. Each distinct input is sent once.
        const key = createHash('sha1').update(c.contentType).update('\0').update(c.body).digest('base64');
        if (sent.has(key)) continue;
        sent.add(key);
        let status: number;
        try {
          status = await post(c.body, c.contentType, i);
        } catch (e) {
          failures.push(`case ${i}: ${(e as Error).message} (${c.contentType}, ${Buffer.from(c.body).toString('base64').slice(0, 200)})`);
          continue;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (!(status >= 200 && status < 300) && !(status >= 400 && status < 500 && status !== 429)) {
          failures.push(`case ${i}: status ${status} (${c.contentType}, ${Buffer.from(c.body).toString('base64').slice(0, 200)})`);
        }
      }
    };
    const grpcClient = new grpc.Client(sidecar.grpcEndpoint, grpc.credentials.createInsecure());
    const grpcCodes = new Map<number, number>();
    const grpcWorker = async (): Promise<void> => {
      for (let i = 0; i < GRPC_CASES / 4; i++) {
        const body = int(10) === 0 ? deep(false) : mutate(seedPb);
        const r = await grpcCall(grpcClient, body);
        grpcCodes.set(r.code, (grpcCodes.get(r.code) ?? 0) + 1);
        if (r.code !== grpc.status.OK && r.code !== grpc.status.INVALID_ARGUMENT) failures.push(`grpc case: ${grpc.status[r.code]} ${r.details}`);
      }
    };
    await Promise.all([...Array.from({ length: 32 }, worker), ...Array.from({ length: 4 }, grpcWorker)]);
    grpcClient.close();
    for (const c of conns) c.close();

    expect(failures.slice(0, 10)).toEqual([]);
    expect(sidecar.alive()).toBe(true);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(sent.size);
    // seed 0x5eed: 70,299 distinct of 100,000 (counted when the duplicates were first dropped)
    expect(sent.size).toBeGreaterThan(HTTP_CASES / 2);
    // both kinds of answer occur: the mutations are neither all rejected nor all accepted
    expect(statuses.get(400)).toBeGreaterThan(sent.size / 4);
    expect(statuses.get(200)).toBeGreaterThan(100);
    expect(grpcCodes.get(grpc.status.INVALID_ARGUMENT)).toBeGreaterThan(100);

    // Mutated-but-valid requests leave series with any bytes in their label values: the whole
    // exposition must still parse, every line of it.
    const expo = parsePrometheusText((await fetchMetricsText(sidecar)).text);
    const good = expo.samples.filter((s) => s.name === 'traces_spanmetrics_calls_total' && s.labels.service === 'good-stream');
    expect(good.map((s) => s.labels.span_name)).toEqual(['good-op']);
    expect(good[0]!.value).toBe(goodSpans);
    expect(goodSent).toBe(HTTP_CASES / GOOD_EVERY);
    const restarts = expo.samples.find((s) => s.name === 'spanmeter_core_restarts_total');
    expect(restarts?.value).toBe(0);
    console.log(`fuzz seed ${SEED}: http ${sent.size} distinct of ${HTTP_CASES} ${JSON.stringify(Object.fromEntries(statuses))}, grpc ${JSON.stringify(Object.fromEntries(grpcCodes))}, good spans ${goodSpans}`);
  }, 120_000);
});
