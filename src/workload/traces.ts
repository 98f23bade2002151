// Trace generation: a root request at the edge fans out downstream as CLIENT/SERVER pairs, database
// CLIENT spans and PRODUCER/CONSUMER pairs, with log-normal latencies, 1% errors and the attributes
// real instrumentation sets.
import type { Prng } from './prng.js';
import { bool, int, KIND, nanos, STATUS_ERROR, STATUS_UNSET, str, type KV, type SpanObj } from './spans.js';
import { order, SCOPE_LIB, SCOPE_PREFIX, SERVICES, type DbOp, type Endpoint, type Instance, type Topology } from './topology.js';

const ERROR_RATE = 0.01;

export interface SimSpan {
  span: SpanObj;
  instance: Instance;
  scope: string;
  endMs: number;
  arrival: number;
  /** The span this one pairs with (its CLIENT/PRODUCER parent), for the split statistic. */
  pairedWith?: SimSpan;
  batch: number;
}

export class TraceBuilder {
  spans: SimSpan[] = [];
  private traceId: Uint8Array = new Uint8Array(16);
  private count = 0;

  constructor(
    private readonly rng: Prng,
    private readonly topo: Topology,
    private readonly instances: Instance[][],
    private readonly attributeTarget: number | undefined,
  ) {}

  /** One trace starting at `t0` ms; returns its span count. */
  trace(t0: number): number {
    this.traceId = this.rng.bytes(16);
    this.count = 0;
    const root = this.rng.pick(this.topo.roots);
    this.server(root, undefined, undefined, t0, 0);
    return this.count;
  }

  private instanceOf(service: number): Instance {
    return this.rng.pick(this.instances[service]!);
  }

  private scope(inst: Instance, lib: string): string {
    const lang = SERVICES[inst.service]!.lang;
    return lib === '' ? SERVICES[inst.service]!.name : SCOPE_PREFIX[lang] + lib;
  }

  private emit(inst: Instance, scope: string, span: SpanObj, endMs: number, pairedWith?: SimSpan): SimSpan {
    span.attributes = this.adjust(span.attributes, span.kind);
    const s: SimSpan = { span, instance: inst, scope, endMs, arrival: 0, pairedWith, batch: -1 };
    this.spans.push(s);
    this.count++;
    return s;
  }

  /** Trim or pad the attribute list to --attributes. */
  private adjust(attrs: KV[], kind: number): KV[] {
    const n = this.attributeTarget;
    if (n === undefined || attrs.length === n) return attrs;
    if (attrs.length > n) return attrs.slice(0, n);
    const out = attrs.slice();
    for (let i = out.length; i < n; i++) {
      out.push(i % 3 === 0 ? int(`app.attr_${i}`, this.rng.int(0, 100000)) : str(`app.attribute.${i}`, `${kind}-${this.rng.hex(4)}`));
    }
    return out;
  }

  private newSpan(name: string, kind: number, parent: Uint8Array | undefined, startMs: number, endMs: number, attributes: KV[], failed: boolean): SpanObj {
    const span: SpanObj = {
      traceId: this.traceId,
      spanId: this.rng.bytes(8),
      flags: 0x301,
      name,
      kind,
      startTimeUnixNano: nanos(startMs),
      endTimeUnixNano: nanos(endMs),
      attributes,
    };
    if (parent) span.parentSpanId = parent;
    if (failed) {
      span.status = { code: STATUS_ERROR, message: kind === KIND.CLIENT ? 'upstream error' : 'internal error' };
      if (kind === KIND.SERVER || kind === KIND.CONSUMER || kind === KIND.INTERNAL) {
        span.events = [{
          timeUnixNano: nanos(endMs - 0.01),
          name: 'exception',
          attributes: [
            str('exception.type', 'Error'),
            str('exception.message', 'connection reset by peer'),
            str('exception.stacktrace', 'Error: connection reset by peer\n    at Socket.onend (node:net:1234:12)\n    at handler (/app/src/handler.js:88:13)'),
          ],
        }];
      }
    } else {
      span.status = { code: STATUS_UNSET };
    }
    return span;
  }

  private callee(epIndex: number): { inst: Instance; failed: boolean } {
    const ep = this.topo.endpoints[epIndex]!;
    return { inst: this.instanceOf(ep.service), failed: this.rng.chance(ERROR_RATE) };
  }

  /**
   * The SERVER (or CONSUMER) span of endpoint `e` and everything under it; returns its end, ms.
   * `client` is the CLIENT/PRODUCER span that called it (undefined for a root).
   */
  private server(e: number, client: SpanObj | undefined, callerInst: Instance | undefined, start: number, depth: number,
    chosen?: { inst: Instance; failed: boolean }): number {
    const ep = this.topo.endpoints[e]!;
    const { inst, failed } = chosen ?? this.callee(e);
    const spanId = this.rng.bytes(8);
    let t = start + this.rng.range(0.02, 0.3);
    const children: (() => void)[] = [];
    for (const c of ep.children) {
      if (this.count > 400 || !this.rng.chance(c.p)) continue;
      if (c.type === 'call') {
        if (depth >= 6) continue;
        t = this.call(inst, spanId, c.target, t, depth) + this.rng.range(0.01, 0.2);
      } else if (c.type === 'db') {
        t = this.db(inst, spanId, c.op, t) + this.rng.range(0.01, 0.1);
      } else if (c.type === 'produce') {
        const produceStart = t;
        t = this.produce(inst, spanId, c.topic, produceStart, depth) + this.rng.range(0.01, 0.1);
      } else {
        const d = this.rng.logNormal(0.3, 0.8);
        const s = t;
        const iFailed = this.rng.chance(ERROR_RATE / 2);
        children.push(() => {
          this.emit(inst, this.scope(inst, ''), this.newSpan(c.name, KIND.INTERNAL, spanId, s, s + d, [
            str('code.function.name', c.name.replace(/ /g, '_')),
            str('code.namespace', `shop.${SERVICES[inst.service]!.name.replace(/-/g, '_')}.handlers`),
            str('code.file.path', `/app/src/handlers/${SERVICES[inst.service]!.name}.ts`),
            int('code.line.number', this.rng.int(20, 900)),
            int('thread.id', this.rng.int(1, 64)),
            str('thread.name', 'main'),
            bool('app.cache.hit', this.rng.chance(0.7)),
            int('app.items.count', this.rng.int(0, 40)),
          ], iFailed), s + d);
        });
        t += d;
      }
    }
    const end = t + this.rng.logNormal(ep.selfMs, 0.6);
    for (const f of children) f();
    const attributes = this.serverAttributes(ep, inst, callerInst, failed);
    const kind = ep.kind === 'consumer' ? KIND.CONSUMER : KIND.SERVER;
    const span = this.newSpan(ep.name, kind, client?.spanId, start, end, attributes, failed);
    span.spanId = spanId;
    const sim = this.emit(inst, this.scope(inst, ep.kind === 'consumer' ? 'kafka' : ep.kind), span, end);
    if (client) this.pending.set(client, sim);
    return end;
  }

  /** Server spans waiting for the client span that called them (emitted after its server). */
  private pending = new Map<SpanObj, SimSpan>();

  private call(inst: Instance, parent: Uint8Array, target: number, start: number, depth: number): number {
    const ep = this.topo.endpoints[target]!;
    const callee = this.callee(target);
    const net = this.rng.range(0.1, 0.6);
    // The client span is built first so the server can name it as its parent.
    const client: SpanObj = this.newSpan(ep.name, KIND.CLIENT, parent, start, start, [], false);
    const serverEnd = this.server(target, client, inst, start + net, depth + 1, callee);
    const end = serverEnd + this.rng.range(0.1, 0.6);
    client.endTimeUnixNano = nanos(end);
    client.attributes = this.clientAttributes(ep, callee.inst, callee.failed);
    if (callee.failed) client.status = { code: STATUS_ERROR, message: ep.kind === 'grpc' ? 'INTERNAL' : '' };
    const lib = ep.kind === 'consumer' ? 'kafka' : ep.kind;
    const sim = this.emit(inst, this.scope(inst, lib), client, end);
    const server = this.pending.get(client);
    if (server) {
      server.pairedWith = sim;
      this.pending.delete(client);
    }
    return end;
  }

  private db(inst: Instance, parent: Uint8Array, op: DbOp, start: number): number {
    const s = SERVICES[inst.service]!;
    const db = s.db!;
    const d = this.rng.chance(0.02) ? this.rng.logNormal(op.medianMs * 20, 0.5) : this.rng.logNormal(op.medianMs, 0.5);
    const failed = this.rng.chance(ERROR_RATE);
    const port = db.system === 'postgresql' ? 5432 : db.system === 'redis' ? 6379 : db.system === 'mongodb' ? 27017 : 9200;
    const attributes: KV[] = [
      str('db.system.name', db.system),
      str('db.namespace', db.namespace),
      str('db.operation.name', op.operation),
      str('db.collection.name', op.collection),
      str('db.query.text', op.query),
      str('server.address', db.host),
      int('server.port', port),
      str('network.peer.address', `10.43.${(inst.service * 7) % 250}.${(port % 200) + 3}`),
      int('network.peer.port', port),
    ];
    if (db.system === 'elasticsearch') {
      attributes.push(str('http.request.method', 'POST'), str('url.full', `http://${db.host}:9200/${op.collection}/_${op.operation}`));
    }
    if (failed) attributes.push(str('db.response.status_code', db.system === 'postgresql' ? '57014' : 'ERR'), str('error.type', 'timeout'));
    const span = this.newSpan(op.name, KIND.CLIENT, parent, start, start + d, attributes, failed);
    this.emit(inst, this.scope(inst, SCOPE_LIB[db.system]!), span, start + d);
    return start + d;
  }

  private produce(inst: Instance, parent: Uint8Array, topic: string, start: number, depth: number): number {
    const d = this.rng.logNormal(1.2, 0.5);
    const failed = this.rng.chance(ERROR_RATE / 2);
    const partition = this.rng.int(0, 11);
    const attributes: KV[] = [
      str('messaging.system', 'kafka'),
      str('messaging.destination.name', topic),
      str('messaging.operation.type', 'send'),
      str('messaging.operation.name', 'send'),
      str('messaging.client.id', `${SERVICES[inst.service]!.name}-producer-1`),
      str('messaging.destination.partition.id', String(partition)),
      str('messaging.kafka.message.key', this.rng.hex(8)),
      str('server.address', 'kafka-0.kafka-headless.shop.svc.cluster.local'),
      int('server.port', 9092),
      str('network.peer.address', `10.43.9.${partition + 10}`),
    ];
    const span = this.newSpan(`send ${topic}`, KIND.PRODUCER, parent, start, start + d, attributes, failed);
    const sim = this.emit(inst, this.scope(inst, 'kafka'), span, start + d);
    const consumer = this.topo.consumerOf.get(topic);
    if (consumer !== undefined && !failed && depth < 8) {
      // Queue time, then the consumer processes the message in its own service.
      const queued = start + d + this.rng.logNormal(8, 1);
      this.server(consumer, span, inst, queued, depth + 1);
      const server = this.pending.get(span);
      if (server) {
        server.pairedWith = sim;
        this.pending.delete(span);
      }
    }
    return start + d;
  }

  private serverAttributes(ep: Endpoint, inst: Instance, caller: Instance | undefined, failed: boolean): KV[] {
    const s = SERVICES[inst.service]!;
    const peer = caller ? caller.ip : `172.16.${this.rng.int(0, 255)}.${this.rng.int(1, 254)}`;
    if (ep.kind === 'http') {
      const id = this.rng.int(1, 99999);
      const path = ep.route!.replace('{id}', String(id));
      const status = failed ? this.rng.pick([500, 502, 503]) : ep.method === 'POST' ? 201 : ep.method === 'DELETE' ? 204 : 200;
      const attrs = [
        str('http.request.method', ep.method!),
        str('url.path', path),
        str('url.scheme', 'http'),
        str('http.route', ep.route!),
        int('http.response.status_code', status),
        str('server.address', `${s.name}.shop.svc.cluster.local`),
        int('server.port', 8080),
        str('network.protocol.version', '1.1'),
        str('client.address', peer),
        str('network.peer.address', peer),
        int('network.peer.port', this.rng.int(32768, 60999)),
        str('user_agent.original', caller ? `${SERVICES[caller.service]!.lang === 'go' ? 'Go-http-client/1.1' : 'node'}` : 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0 Safari/537.36'),
      ];
      if (ep.method === 'GET' && this.rng.chance(0.3)) attrs.push(str('url.query', `page=${this.rng.int(1, 20)}&limit=50`));
      if (failed) attrs.push(str('error.type', String(status)));
      return attrs;
    }
    if (ep.kind === 'grpc') {
      return [
        str('rpc.system', 'grpc'),
        str('rpc.service', ep.rpcService!),
        str('rpc.method', ep.rpcMethod!),
        int('rpc.grpc.status_code', failed ? this.rng.pick([2, 13, 14]) : 0),
        str('server.address', `${s.name}.shop.svc.cluster.local`),
        int('server.port', 50051),
        str('network.peer.address', peer),
        int('network.peer.port', this.rng.int(32768, 60999)),
        str('network.type', 'ipv4'),
        str('network.transport', 'tcp'),
      ];
    }
    // Kafka consumer
    const partition = this.rng.int(0, 11);
    return [
      str('messaging.system', 'kafka'),
      str('messaging.destination.name', ep.topic!),
      str('messaging.operation.type', 'process'),
      str('messaging.operation.name', 'process'),
      str('messaging.consumer.group.name', `${s.name}-group`),
      str('messaging.client.id', `${s.name}-consumer-${inst.index}`),
      str('messaging.destination.partition.id', String(partition)),
      int('messaging.kafka.offset', this.rng.int(1_000_000, 9_000_000)),
      str('messaging.kafka.message.key', this.rng.hex(8)),
      str('server.address', 'kafka-0.kafka-headless.shop.svc.cluster.local'),
    ];
  }

  private clientAttributes(ep: Endpoint, callee: Instance, failed: boolean): KV[] {
    const s = SERVICES[ep.service]!;
    if (ep.kind === 'http') {
      const id = this.rng.int(1, 99999);
      const path = ep.route!.replace('{id}', String(id));
      const status = failed ? 503 : ep.method === 'POST' ? 201 : ep.method === 'DELETE' ? 204 : 200;
      const attrs = [
        str('http.request.method', ep.method!),
        str('url.full', `http://${s.name}.shop.svc.cluster.local:8080${path}`),
        str('url.template', ep.route!),
        str('server.address', `${s.name}.shop.svc.cluster.local`),
        int('server.port', 8080),
        int('http.response.status_code', status),
        str('network.protocol.version', '1.1'),
        str('network.peer.address', callee.ip),
        int('network.peer.port', 8080),
      ];
      if (failed) attrs.push(str('error.type', '503'));
      return attrs;
    }
    return [
      str('rpc.system', 'grpc'),
      str('rpc.service', ep.rpcService!),
      str('rpc.method', ep.rpcMethod!),
      int('rpc.grpc.status_code', failed ? 13 : 0),
      str('server.address', `${s.name}.shop.svc.cluster.local`),
      int('server.port', 50051),
      str('network.peer.address', callee.ip),
      int('network.peer.port', 50051),
      str('network.type', 'ipv4'),
    ];
  }
}
