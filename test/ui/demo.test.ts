// `spanmeter --demo`: the sidecar feeds itself the benchmark's shop topology over OTLP/HTTP and
// prints its page's address; within seconds /api/graph shows the shop.
import { afterAll, describe, expect, it } from 'vitest';
import type { GraphResponse, RedResponse } from '../../src/ui/json.js';
import { spawnDemo, type DemoProcess } from './demo-process.js';

/** The services of the benchmark workload (src/workload/workload.ts). */
const SHOP = [
  'ad', 'api-gateway', 'auth', 'cart', 'checkout', 'currency', 'email', 'fraud-detection', 'frontend', 'inventory',
  'notification', 'order', 'payment', 'pricing', 'product-catalog', 'recommendation', 'review', 'search', 'shipping', 'user',
];

describe('spanmeter --demo', () => {
  let demo: DemoProcess | undefined;
  afterAll(() => {
    if (demo?.child.pid && demo.child.exitCode === null) process.kill(-demo.child.pid, 'SIGKILL');
  });

  it('feeds the shop to its own receiver and shows it on /api/graph', async () => {
    demo = await spawnDemo();
    const { child, page, exited, output } = demo;

    // It says where the page is.
    await expect.poll(() => output(), { timeout: 30_000, interval: 100 }).toContain(`spanmeter --demo: open ${page} in a browser`);

    // The first look is the baseline; the shop's services and edges fill in within seconds.
    let graph: GraphResponse | undefined;
    await expect
      .poll(
        async () => {
          graph = (await (await fetch(`${page}api/graph?window=30`)).json()) as GraphResponse;
          return SHOP.filter((s) => !graph!.nodes.some((n) => n.id === s && n.type === 'service'));
        },
        { timeout: 30_000, interval: 1000, message: `services missing from /api/graph; output:\n${output()}` },
      )
      .toEqual([]);
    await expect
      .poll(
        async () => {
          graph = (await (await fetch(`${page}api/graph?window=30`)).json()) as GraphResponse;
          // Lone root spans become edges from "user" when the wait (10 s) ends.
          const fromUser = ['frontend', 'api-gateway'].every((t) => graph!.edges.some((e) => e.source === 'virtual:user' && e.target === t));
          return fromUser && graph.edges.filter((e) => (e.rate ?? 0) > 0).length > 30;
        },
        { timeout: 40_000, interval: 1000 },
      )
      .toBe(true);
    const g = graph!;
    expect(g.span_metrics && g.service_graphs).toBe(true);
    // Requests from outside come from Tempo's "user" client, which the shop also has as a service.
    expect(g.nodes).toContainEqual(expect.objectContaining({ id: 'virtual:user', name: 'user', type: 'virtual' }));
    expect(g.edges).toContainEqual(expect.objectContaining({ source: 'virtual:user', target: 'frontend', connection_type: 'virtual_node' }));
    expect(g.edges).toContainEqual(expect.objectContaining({ source: 'checkout', target: 'payment', connection_type: '' }));
    expect(g.edges).toContainEqual(expect.objectContaining({ source: 'order', target: 'fraud-detection', connection_type: 'messaging_system' }));
    expect(g.nodes).toContainEqual(expect.objectContaining({ id: 'orders-db.shop.svc.cluster.local', type: 'database' }));
    expect(g.edges).toContainEqual(expect.objectContaining({ source: 'order', target: 'orders-db.shop.svc.cluster.local', connection_type: 'database' }));

    const red = (await (await fetch(`${page}api/red?service=checkout`)).json()) as RedResponse;
    expect(red.services.find((s) => s.service === 'frontend')?.rate).toBeGreaterThan(0);
    expect(red.operations.length).toBeGreaterThan(5);
    expect(red.operations.every((o) => o.service === 'checkout')).toBe(true);
    // With no slos in the config, the demo brings two over the shop, counting its spans.
    const slos = (await (await fetch(`${page}api/slos`)).json()) as { slos: { name: string; total: number }[] };
    expect(slos.slos.map((x) => x.name)).toEqual(['frontend-availability', 'checkout-latency']);
    expect(slos.slos.every((x) => x.total > 0)).toBe(true);
    const html = await fetch(page, { headers: { Accept: 'text/html' } });
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');

    process.kill(-child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
  });
});
