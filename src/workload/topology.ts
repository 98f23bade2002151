// The workload's topology: 20 services (HTTP and gRPC servers, Kafka consumers) in tiers, each with
// its own endpoints, database calls, Kafka topics and internal spans; and the pods each service runs
// as (2–3, one OTLP resource each).
import type { Prng } from './prng.js';
import { str, type KV } from './spans.js';

export type Lang = 'nodejs' | 'go' | 'java' | 'python' | 'dotnet' | 'ruby' | 'rust' | 'cpp';
export type Proto = 'http' | 'grpc' | 'consumer';
export type DbSystem = 'postgresql' | 'redis' | 'mongodb' | 'elasticsearch';

export interface ServiceSpec {
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

export const SERVICES: ServiceSpec[] = [
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

export const SDK_VERSION: Record<Lang, string> = {
  nodejs: '1.30.1', go: '1.35.0', java: '1.49.0', python: '1.31.1', dotnet: '1.11.2', ruby: '1.8.0', rust: '0.28.0', cpp: '1.19.0',
};

export const SCOPE_PREFIX: Record<Lang, string> = {
  nodejs: '@opentelemetry/instrumentation-',
  go: 'go.opentelemetry.io/contrib/instrumentation/',
  java: 'io.opentelemetry.',
  python: 'opentelemetry.instrumentation.',
  dotnet: 'OpenTelemetry.Instrumentation.',
  ruby: 'OpenTelemetry::Instrumentation::',
  rust: 'opentelemetry-',
  cpp: 'opentelemetry-cpp/',
};

export const SCOPE_LIB: Record<string, string> = {
  http: 'http', grpc: 'grpc', postgresql: 'pg', redis: 'redis', mongodb: 'mongodb', elasticsearch: 'elasticsearch', kafka: 'kafka',
};


export interface Endpoint {
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

export type Child =
  | { type: 'call'; target: number; p: number }
  | { type: 'db'; op: DbOp; p: number }
  | { type: 'produce'; topic: string; p: number }
  | { type: 'internal'; name: string; p: number };

export interface DbOp {
  name: string;
  operation: string;
  collection: string;
  query: string;
  medianMs: number;
}

export interface Topology {
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

export function buildTopology(rng: Prng): Topology {
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

export function order(c: Child): number {
  return c.type === 'internal' ? 0 : c.type === 'call' ? 1 : c.type === 'db' ? 2 : 3;
}
// ---------------------------------------------------------------------------------------------
// Instances (pods) and their resources

export interface Instance {
  service: number;
  index: number;
  pod: string;
  ip: string;
  resource: { attributes: KV[] };
  /** Phase of its SDK's export timer, ms. */
  phase: number;
}

export function buildInstances(rng: Prng, flushMs: number): Instance[][] {
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
