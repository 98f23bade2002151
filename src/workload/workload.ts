// The benchmark workload: a deterministic stream of OTLP traces from a realistic topology,
// encoded with protobufjs as ExportTraceServiceRequest batches.
//
// Topology: 20 services (HTTP and gRPC servers, Kafka consumers) in tiers, each with its own
// endpoints, database calls, Kafka topics and internal spans (~200 distinct operations).
// Traces: a root request at the edge (frontend or api-gateway) fans out downstream as
// CLIENT/SERVER pairs, database CLIENT spans and PRODUCER/CONSUMER pairs, with log-normal
// latencies, 1% errors and the attributes real instrumentation sets (semantic conventions
// 1.26+; 8–15 per span). Each service runs as 2–3 pods, one OTLP resource per pod.
// Delivery: every pod's SDK flushes its finished spans on its own timer; the Collector batches
// what arrives into requests of `spansPerBatch` spans. So the two sides of a pair usually land
// in different requests, as they do in production.
import { ExportTraceServiceRequest } from '../otlp/messages.js';
import { Prng } from './prng.js';

export interface WorkloadOptions {
  seed?: number;
  /** Requests to produce. */
  batches: number;
  /** Spans per request (the Collector batch processor's send_batch_size). */
  spansPerBatch: number;
  /** Span attributes per span: undefined = what the instrumentation sets (8–15); else trimmed or padded to this. */
  attributes?: number;
  /** How often each pod's SDK exports, simulated ms. */
  flushIntervalMs?: number;
}

export interface WorkloadStats {
  services: number;
  instances: number;
  /** Distinct span names. */
  operations: number;
  /** Distinct (service, span name, kind, status) label sets: span-metrics series. */
  series: number;
  spans: number;
  traces: number;
  bytes: number;
  bytesPerSpan: number;
  attributesPerSpan: number;
  minAttributes: number;
  maxAttributes: number;
  errorRate: number;
  /** Share of CLIENT→SERVER and PRODUCER→CONSUMER pairs whose two spans are in different requests. */
  pairsSplit: number;
  pairs: number;
  kinds: Record<string, number>;
}

export interface Workload {
  batches: Uint8Array[];
  /** Spans in each batch. */
  spanCounts: number[];
  stats: WorkloadStats;
}

// ---------------------------------------------------------------------------------------------
// Topology

type Lang = 'nodejs' | 'go' | 'java' | 'python' | 'dotnet' | 'ruby' | 'rust' | 'cpp';
type Proto = 'http' | 'grpc' | 'consumer';
type DbSystem = 'postgresql' | 'redis' | 'mongodb' | 'elasticsearch';

interface ServiceSpec {
  name: string;
  lang: Lang;
  proto: Proto;
  tier: number;
  nouns: string[];
  grpcService?: string;
  db?: { system: DbSystem; namespace: string; collections: string[]; host: string };
  calls?: string[];
  produces?: string[];
  consumes?: string;
}

const SERVICES: ServiceSpec[] = [
  { name: 'frontend', lang: 'nodejs', proto: 'http', tier: 0, nouns: ['product', 'cart', 'checkout', 'recommendation', 'ad', 'account', 'search', 'review', 'currency'],
    calls: ['checkout', 'search', 'recommendation', 'cart', 'product-catalog', 'ad', 'user', 'review', 'currency'] },
  { name: 'api-gateway', lang: 'go', proto: 'http', tier: 0, nouns: ['order', 'user', 'product', 'inventory', 'review', 'session'],
    calls: ['order', 'user', 'auth', 'product-catalog', 'inventory', 'search', 'review', 'pricing'] },
  { name: 'checkout', lang: 'go', proto: 'grpc', tier: 1, nouns: ['order', 'quote', 'checkout'], grpcService: 'oteldemo.CheckoutService',
    calls: ['cart', 'payment', 'shipping', 'currency', 'product-catalog', 'order', 'pricing'] },
  { name: 'search', lang: 'go', proto: 'http', tier: 1, nouns: ['search', 'suggestion', 'facet'],
    db: { system: 'elasticsearch', namespace: 'products', collections: ['products', 'suggestions'], host: 'search-es.shop.svc.cluster.local' },
    calls: ['product-catalog', 'ad', 'pricing'] },
  { name: 'recommendation', lang: 'python', proto: 'grpc', tier: 1, nouns: ['recommendation', 'similar'], grpcService: 'oteldemo.RecommendationService',
    db: { system: 'redis', namespace: '2', collections: ['recs', 'views'], host: 'redis-recs.shop.svc.cluster.local' },
    calls: ['product-catalog', 'user'] },
  { name: 'order', lang: 'java', proto: 'http', tier: 2, nouns: ['order', 'invoice', 'refund'],
    db: { system: 'postgresql', namespace: 'orders', collections: ['orders', 'order_items', 'invoices', 'refunds'], host: 'orders-db.shop.svc.cluster.local' },
    calls: ['inventory', 'payment', 'pricing'], produces: ['orders', 'order-events'] },
  { name: 'cart', lang: 'dotnet', proto: 'grpc', tier: 2, nouns: ['cart', 'item'], grpcService: 'oteldemo.CartService',
    db: { system: 'redis', namespace: '0', collections: ['cart', 'session'], host: 'redis-cart.shop.svc.cluster.local' },
    calls: ['product-catalog', 'pricing'] },
  { name: 'user', lang: 'java', proto: 'grpc', tier: 2, nouns: ['user', 'profile', 'address', 'preference'], grpcService: 'shop.user.v1.UserService',
    db: { system: 'postgresql', namespace: 'users', collections: ['users', 'addresses', 'preferences'], host: 'users-db.shop.svc.cluster.local' },
    calls: ['auth'] },
  { name: 'auth', lang: 'go', proto: 'grpc', tier: 3, nouns: ['token', 'session', 'permission'], grpcService: 'shop.auth.v1.AuthService',
    db: { system: 'redis', namespace: '1', collections: ['token', 'session'], host: 'redis-auth.shop.svc.cluster.local' } },
  { name: 'payment', lang: 'nodejs', proto: 'grpc', tier: 3, nouns: ['payment', 'charge', 'card'], grpcService: 'oteldemo.PaymentService',
    db: { system: 'postgresql', namespace: 'payments', collections: ['payments', 'charges'], host: 'payments-db.shop.svc.cluster.local' } },
  { name: 'shipping', lang: 'rust', proto: 'http', tier: 3, nouns: ['shipment', 'quote', 'tracking'], calls: ['currency'] },
  { name: 'product-catalog', lang: 'go', proto: 'grpc', tier: 3, nouns: ['product', 'category', 'variant'], grpcService: 'oteldemo.ProductCatalogService',
    db: { system: 'postgresql', namespace: 'catalog', collections: ['products', 'categories', 'variants'], host: 'catalog-db.shop.svc.cluster.local' } },
  { name: 'ad', lang: 'java', proto: 'grpc', tier: 3, nouns: ['ad', 'campaign'], grpcService: 'oteldemo.AdService' },
  { name: 'inventory', lang: 'java', proto: 'http', tier: 3, nouns: ['stock', 'reservation', 'warehouse'],
    db: { system: 'postgresql', namespace: 'inventory', collections: ['stock', 'reservations', 'warehouses'], host: 'inventory-db.shop.svc.cluster.local' } },
  { name: 'review', lang: 'python', proto: 'http', tier: 3, nouns: ['review', 'rating'],
    db: { system: 'mongodb', namespace: 'reviews', collections: ['reviews', 'ratings'], host: 'reviews-mongo.shop.svc.cluster.local' } },
  { name: 'pricing', lang: 'go', proto: 'grpc', tier: 3, nouns: ['price', 'discount', 'tax'], grpcService: 'shop.pricing.v1.PricingService',
    db: { system: 'redis', namespace: '3', collections: ['price', 'discount'], host: 'redis-pricing.shop.svc.cluster.local' },
    calls: ['currency'] },
  { name: 'currency', lang: 'cpp', proto: 'grpc', tier: 4, nouns: ['currency', 'rate'], grpcService: 'oteldemo.CurrencyService' },
  { name: 'fraud-detection', lang: 'java', proto: 'consumer', tier: 5, nouns: [], consumes: 'orders',
    db: { system: 'postgresql', namespace: 'fraud', collections: ['checks', 'scores'], host: 'fraud-db.shop.svc.cluster.local' },
    calls: ['user'] },
  { name: 'notification', lang: 'nodejs', proto: 'consumer', tier: 5, nouns: [], consumes: 'order-events', calls: ['user'], produces: ['notifications'] },
  { name: 'email', lang: 'ruby', proto: 'consumer', tier: 6, nouns: [], consumes: 'notifications' },
];

const SDK_VERSION: Record<Lang, string> = {
  nodejs: '1.30.1', go: '1.35.0', java: '1.49.0', python: '1.31.1', dotnet: '1.11.2', ruby: '1.8.0', rust: '0.28.0', cpp: '1.19.0',
};

const SCOPE_PREFIX: Record<Lang, string> = {
  nodejs: '@opentelemetry/instrumentation-',
  go: 'go.opentelemetry.io/contrib/instrumentation/',
  java: 'io.opentelemetry.',
  python: 'opentelemetry.instrumentation.',
  dotnet: 'OpenTelemetry.Instrumentation.',
  ruby: 'OpenTelemetry::Instrumentation::',
  rust: 'opentelemetry-',
  cpp: 'opentelemetry-cpp/',
};

const SCOPE_LIB: Record<string, string> = {
  http: 'http', grpc: 'grpc', postgresql: 'pg', redis: 'redis', mongodb: 'mongodb', elasticsearch: 'elasticsearch', kafka: 'kafka',
};

const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;
const ERROR_RATE = 0.01;

interface Endpoint {
  service: number;
  name: string;
  kind: 'http' | 'grpc' | 'consumer';
  method?: string;
  route?: string;
  rpcService?: string;
  rpcMethod?: string;
  topic?: string;
  /** Median self time, ms. */
  selfMs: number;
  children: Child[];
}

type Child =
  | { type: 'call'; target: number; p: number }
  | { type: 'db'; op: DbOp; p: number }
  | { type: 'produce'; topic: string; p: number }
  | { type: 'internal'; name: string; p: number };

interface DbOp {
  name: string;
  operation: string;
  collection: string;
  query: string;
  medianMs: number;
}

interface Topology {
  endpoints: Endpoint[];
  byService: number[][];
  consumerOf: Map<string, number>;
  roots: number[];
}

const HTTP_PATTERNS: [string, (n: string) => string][] = [
  ['GET', (n) => `/api/${n}s`],
  ['GET', (n) => `/api/${n}s/{id}`],
  ['POST', (n) => `/api/${n}s`],
  ['PUT', (n) => `/api/${n}s/{id}`],
  ['DELETE', (n) => `/api/${n}s/{id}`],
  ['GET', (n) => `/api/${n}s/{id}/status`],
  ['PATCH', (n) => `/api/${n}s/{id}`],
  ['GET', (n) => `/api/v2/${n}s`],
];
const GRPC_VERBS = ['Get', 'List', 'Create', 'Update', 'Delete', 'Check', 'Validate', 'Batch', 'Watch'];
const INTERNAL_NAMES = ['validate request', 'render template', 'serialize response', 'compute totals', 'load feature flags', 'resolve locale', 'build cache key'];

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function logUniform(rng: Prng, lo: number, hi: number): number {
  return Math.exp(rng.range(Math.log(lo), Math.log(hi)));
}

function dbOps(rng: Prng, s: ServiceSpec): DbOp[] {
  const db = s.db!;
  const ops: DbOp[] = [];
  for (const c of db.collections) {
    const pick = (items: string[], k: number) => {
      const out = new Set<string>();
      while (out.size < k) out.add(rng.pick(items));
      return [...out];
    };
    switch (db.system) {
      case 'postgresql':
        for (const op of pick(['SELECT', 'INSERT', 'UPDATE', 'DELETE'], 2)) {
          const query = op === 'SELECT' ? `SELECT id, status, updated_at, payload FROM ${c} WHERE id = $1`
            : op === 'INSERT' ? `INSERT INTO ${c} (id, status, payload) VALUES ($1, $2, $3)`
              : op === 'UPDATE' ? `UPDATE ${c} SET status = $2, updated_at = now() WHERE id = $1`
                : `DELETE FROM ${c} WHERE id = $1`;
          ops.push({ name: `${op} ${c}`, operation: op, collection: c, query, medianMs: logUniform(rng, 0.3, 6) });
        }
        break;
      case 'redis':
        for (const op of pick(['GET', 'SET', 'HGETALL', 'EXPIRE', 'MGET', 'HSET'], 2)) {
          ops.push({ name: op, operation: op, collection: c, query: `${op} ${c}:?`, medianMs: logUniform(rng, 0.1, 0.8) });
        }
        break;
      case 'mongodb':
        for (const op of pick(['find', 'insert', 'update', 'aggregate'], 2)) {
          ops.push({ name: `${op} ${c}`, operation: op, collection: c, query: `{"${op}":"${c}","filter":{"productId":"?"}}`, medianMs: logUniform(rng, 0.5, 8) });
        }
        break;
      case 'elasticsearch':
        for (const op of pick(['search', 'get', 'index', 'msearch'], 2)) {
          ops.push({ name: `${op} ${c}`, operation: op, collection: c, query: `{"query":{"match":{"name":"?"}}}`, medianMs: logUniform(rng, 1, 20) });
        }
        break;
    }
  }
  return ops;
}

function buildTopology(rng: Prng): Topology {
  const endpoints: Endpoint[] = [];
  const byService: number[][] = SERVICES.map(() => []);
  const consumerOf = new Map<string, number>();
  const index = new Map(SERVICES.map((s, i) => [s.name, i]));
  const slow = () => (rng.chance(0.08) ? logUniform(rng, 80, 1500) : logUniform(rng, 0.2, 15));

  SERVICES.forEach((s, si) => {
    if (s.proto === 'consumer') {
      const ep: Endpoint = { service: si, name: `process ${s.consumes}`, kind: 'consumer', topic: s.consumes, selfMs: slow(), children: [] };
      consumerOf.set(s.consumes!, endpoints.length);
      byService[si]!.push(endpoints.length);
      endpoints.push(ep);
      return;
    }
    const want = rng.int(7, 10);
    const seen = new Set<string>();
    let guard = 0;
    while (byService[si]!.length < want && guard++ < 200) {
      const noun = rng.pick(s.nouns);
      let ep: Endpoint;
      if (s.proto === 'http') {
        const [method, route] = rng.pick(HTTP_PATTERNS);
        const r = route(noun);
        ep = { service: si, name: `${method} ${r}`, kind: 'http', method, route: r, selfMs: slow(), children: [] };
      } else {
        const verb = rng.pick(GRPC_VERBS);
        const m = `${verb}${cap(noun)}${verb === 'List' || verb === 'Batch' ? 's' : ''}`;
        ep = { service: si, name: `${s.grpcService}/${m}`, kind: 'grpc', rpcService: s.grpcService, rpcMethod: m, selfMs: slow(), children: [] };
      }
      if (seen.has(ep.name)) continue;
      seen.add(ep.name);
      byService[si]!.push(endpoints.length);
      endpoints.push(ep);
    }
  });

  // Children: calls to higher tiers only (no cycles), database operations, Kafka sends, internal
  // work. Callees and operations are dealt least-used first, so every one of them is reached.
  const calledCount = new Array<number>(endpoints.length).fill(0);
  const leastUsed = <T extends object | number>(items: T[], uses: (x: T) => number): T => {
    let best = items[0]!;
    for (const x of items) if (uses(x) < uses(best) || (uses(x) === uses(best) && rng.chance(0.3))) best = x;
    return best;
  };
  const callChild = (target: number): Child => {
    const e = leastUsed(byService[target]!, (x) => calledCount[x]!);
    calledCount[e]!++;
    return { type: 'call', target: e, p: rng.chance(0.3) ? rng.range(0.3, 0.9) : 1 };
  };
  // Tiers from the top, so that a caller is wired before its callees are counted.
  const byTier = SERVICES.map((_, i) => i).sort((a, b) => SERVICES[a]!.tier - SERVICES[b]!.tier);
  for (const si of byTier) {
    const s = SERVICES[si]!;
    const ops = s.db ? dbOps(rng, s) : [];
    const opUses = new Map<DbOp, number>(ops.map((o) => [o, 0]));
    const targets = (s.calls ?? []).map((n) => index.get(n)!).filter((t) => SERVICES[t]!.tier > s.tier);
    for (const e of byService[si]!) {
      const ep = endpoints[e]!;
      const fanout = Math.min(targets.length, rng.int(s.tier === 0 ? 2 : 1, s.tier === 0 ? 4 : 2));
      const chosen = new Set<number>();
      while (chosen.size < fanout) chosen.add(rng.pick(targets));
      for (const t of chosen) ep.children.push(callChild(t));
      if (ops.length > 0) {
        const k = rng.int(1, 3);
        for (let i = 0; i < k; i++) {
          const op = leastUsed(ops, (o) => opUses.get(o)!);
          opUses.set(op, opUses.get(op)! + 1);
          ep.children.push({ type: 'db', op, p: rng.range(0.6, 1) });
        }
      }
      for (const topic of s.produces ?? []) {
        if (s.proto === 'consumer' || ep.method === 'POST' || ep.method === 'PUT' || ep.method === 'PATCH') {
          ep.children.push({ type: 'produce', topic, p: 1 });
        }
      }
      if (rng.chance(0.35)) ep.children.push({ type: 'internal', name: rng.pick(INTERNAL_NAMES), p: 1 });
      // Let callers go first, then the database, as handlers usually do.
      ep.children.sort((a, b) => order(a) - order(b));
    }
  }
  // Endpoints nobody calls yet get a caller among the services that list theirs.
  for (let e = 0; e < endpoints.length; e++) {
    const ep = endpoints[e]!;
    const svc = SERVICES[ep.service]!;
    if (calledCount[e]! > 0 || svc.tier === 0 || ep.kind === 'consumer') continue;
    const callers = SERVICES.map((_, i) => i).filter((i) => SERVICES[i]!.tier < svc.tier && (SERVICES[i]!.calls ?? []).includes(svc.name));
    const caller = endpoints[rng.pick(byService[rng.pick(callers)]!)]!;
    calledCount[e]!++;
    const at = caller.children.findIndex((c) => c.type !== 'internal' && c.type !== 'call');
    caller.children.splice(at < 0 ? caller.children.length : at, 0, { type: 'call', target: e, p: rng.range(0.5, 1) });
  }
  const roots = [...byService[index.get('frontend')!]!, ...byService[index.get('frontend')!]!, ...byService[index.get('api-gateway')!]!];
  return { endpoints, byService, consumerOf, roots };
}

function order(c: Child): number {
  return c.type === 'internal' ? 0 : c.type === 'call' ? 1 : c.type === 'db' ? 2 : 3;
}

// ---------------------------------------------------------------------------------------------
// Instances (pods) and their resources

interface Instance {
  service: number;
  index: number;
  pod: string;
  ip: string;
  resource: { attributes: KV[] };
  /** Phase of its SDK's export timer, ms. */
  phase: number;
}

interface KV {
  key: string;
  value: AnyValueObj;
}
type AnyValueObj = { stringValue: string } | { intValue: number } | { boolValue: boolean } | { doubleValue: number };

const str = (key: string, v: string): KV => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): KV => ({ key, value: { intValue: v } });
const bool = (key: string, v: boolean): KV => ({ key, value: { boolValue: v } });

function buildInstances(rng: Prng, flushMs: number): Instance[][] {
  return SERVICES.map((s, si) => {
    const n = rng.int(2, 3);
    const hash = rng.hex(5);
    const out: Instance[] = [];
    for (let i = 0; i < n; i++) {
      const pod = `${s.name}-${hash}-${rng.hex(3).slice(0, 5)}`;
      const ip = `10.42.${rng.int(0, 15)}.${rng.int(2, 254)}`;
      const attributes: KV[] = [
        str('service.name', s.name),
        str('service.namespace', 'shop'),
        str('service.version', `2.${rng.int(0, 9)}.${rng.int(0, 30)}`),
        str('service.instance.id', `${rng.hex(4)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(6)}`),
        str('deployment.environment.name', 'production'),
        str('host.name', pod),
        str('k8s.namespace.name', 'shop'),
        str('k8s.pod.name', pod),
        str('k8s.deployment.name', s.name),
        str('telemetry.sdk.name', 'opentelemetry'),
        str('telemetry.sdk.language', s.lang),
        str('telemetry.sdk.version', SDK_VERSION[s.lang]),
      ];
      out.push({ service: si, index: i, pod, ip, resource: { attributes }, phase: rng.range(0, flushMs) });
    }
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// Trace generation

interface LongBits {
  low: number;
  high: number;
  unsigned: boolean;
}

interface SpanObj {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId?: Uint8Array;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: LongBits;
  endTimeUnixNano: LongBits;
  attributes: KV[];
  events?: { timeUnixNano: LongBits; name: string; attributes: KV[] }[];
  status?: { code: number; message?: string };
}

interface SimSpan {
  span: SpanObj;
  instance: Instance;
  scope: string;
  endMs: number;
  arrival: number;
  /** The span this one pairs with (its CLIENT/PRODUCER parent), for the split statistic. */
  pairedWith?: SimSpan;
  batch: number;
}

const EPOCH_NS = 1_760_000_000_000_000_000n;

function nanos(ms: number): LongBits {
  const v = EPOCH_NS + BigInt(Math.round(ms * 1e6));
  return { low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: true };
}

class TraceBuilder {
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

// ---------------------------------------------------------------------------------------------
// Batching and encoding

function encodeBatch(spans: SimSpan[]): Uint8Array {
  // One ResourceSpans per pod present, one ScopeSpans per instrumentation scope, in arrival order.
  const byInstance = new Map<Instance, Map<string, SpanObj[]>>();
  for (const s of spans) {
    let scopes = byInstance.get(s.instance);
    if (!scopes) byInstance.set(s.instance, (scopes = new Map()));
    let list = scopes.get(s.scope);
    if (!list) scopes.set(s.scope, (list = []));
    list.push(s.span);
  }
  const resourceSpans = [...byInstance].map(([inst, scopes]) => ({
    resource: inst.resource,
    scopeSpans: [...scopes].map(([name, list]) => ({
      scope: { name, version: SDK_VERSION[SERVICES[inst.service]!.lang] },
      spans: list,
    })),
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  }));
  return ExportTraceServiceRequest.encode({ resourceSpans } as never).finish();
}

export function generateWorkload(opts: WorkloadOptions): Workload {
  const rng = new Prng(opts.seed ?? 0x5eed);
  const flushMs = opts.flushIntervalMs ?? 500;
  const topo = buildTopology(rng);
  const instances = buildInstances(rng, flushMs);
  const builder = new TraceBuilder(rng, topo, instances, opts.attributes);
  const want = opts.batches * opts.spansPerBatch;

  // Traces start ~150/s (simulated); generate past the cut so the stream has no ragged edge
  // beyond what any snapshot of a live stream has.
  let t = 0;
  let traces = 0;
  while (builder.spans.length < want * 1.1 + 2000) {
    t += rng.logNormal(6, 0.7);
    builder.trace(t);
    traces++;
  }
  // Arrival: the pod's SDK exports at its next timer tick after the span ended.
  for (const s of builder.spans) {
    const p = s.instance.phase;
    s.arrival = Math.ceil((s.endMs - p) / flushMs) * flushMs + p;
  }
  const order = builder.spans.map((s, i) => i);
  const instId = new Map<Instance, number>();
  instances.flat().forEach((inst, i) => instId.set(inst, i));
  order.sort((x, y) => {
    const a = builder.spans[x]!;
    const b = builder.spans[y]!;
    return a.arrival - b.arrival || instId.get(a.instance)! - instId.get(b.instance)! || a.endMs - b.endMs || x - y;
  });
  const stream = order.slice(0, want).map((i) => builder.spans[i]!);

  const batches: Uint8Array[] = [];
  const spanCounts: number[] = [];
  for (let b = 0; b < opts.batches; b++) {
    const slice = stream.slice(b * opts.spansPerBatch, (b + 1) * opts.spansPerBatch);
    for (const s of slice) s.batch = b;
    batches.push(encodeBatch(slice));
    spanCounts.push(slice.length);
  }

  // Statistics.
  const names = new Set<string>();
  const series = new Set<string>();
  const traceIds = new Set<string>();
  const kinds: Record<string, number> = {};
  const KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
  let attrs = 0;
  let minA = Infinity;
  let maxA = 0;
  let errors = 0;
  let pairs = 0;
  let split = 0;
  for (const s of stream) {
    const sp = s.span;
    names.add(sp.name);
    series.add(`${s.instance.service}\u0000${sp.name}\u0000${sp.kind}\u0000${sp.status?.code ?? 0}`);
    traceIds.add(Buffer.from(sp.traceId).toString('hex'));
    kinds[KIND_NAMES[sp.kind]!] = (kinds[KIND_NAMES[sp.kind]!] ?? 0) + 1;
    attrs += sp.attributes.length;
    minA = Math.min(minA, sp.attributes.length);
    maxA = Math.max(maxA, sp.attributes.length);
    if (sp.status?.code === STATUS_ERROR) errors++;
    if (s.pairedWith && s.pairedWith.batch >= 0) {
      pairs++;
      if (s.pairedWith.batch !== s.batch) split++;
    }
  }
  const bytes = batches.reduce((n, b) => n + b.length, 0);
  return {
    batches,
    spanCounts,
    stats: {
      services: SERVICES.length,
      instances: instances.flat().length,
      operations: names.size,
      series: series.size,
      spans: stream.length,
      traces: traceIds.size,
      bytes,
      bytesPerSpan: bytes / stream.length,
      attributesPerSpan: attrs / stream.length,
      minAttributes: minA,
      maxAttributes: maxA,
      errorRate: errors / stream.length,
      pairsSplit: pairs > 0 ? split / pairs : 0,
      pairs,
      kinds,
    },
  };
}

/**
 * Requests whose spans all have distinct names (one SERVER series each): `n` spans in
 * requests of `spansPerBatch`, for growing a series table to a known size.
 */
export function seriesBatches(n: number, spansPerBatch: number, seed = 7): Uint8Array[] {
  const rng = new Prng(seed);
  const traceId = rng.bytes(16);
  const resource = {
    attributes: [
      str('service.name', 'catalog-api'),
      str('service.version', '1.4.2'),
      str('host.name', 'catalog-api-7d9f8-x2x4q'),
      str('telemetry.sdk.language', 'go'),
    ],
  };
  const out: Uint8Array[] = [];
  for (let start = 0; start < n; start += spansPerBatch) {
    const spans: SpanObj[] = [];
    for (let i = start; i < Math.min(n, start + spansPerBatch); i++) {
      const t0 = i * 0.01;
      const d = rng.logNormal(20, 1.5);
      spans.push({
        traceId,
        spanId: rng.bytes(8),
        flags: 0x301,
        name: `GET /api/v1/catalog/items/sku-${String(i).padStart(7, '0')}`,
        kind: KIND.SERVER,
        startTimeUnixNano: nanos(t0),
        endTimeUnixNano: nanos(t0 + d),
        attributes: [str('http.request.method', 'GET'), int('http.response.status_code', 200)],
        status: { code: STATUS_UNSET },
      });
    }
    out.push(ExportTraceServiceRequest.encode({
      resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'otelhttp', version: '0.60.0' }, spans }] }],
    } as never).finish());
  }
  return out;
}
