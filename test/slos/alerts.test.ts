// End to end: the page alert that `spanmeter rules` writes fires on an error burst and clears
// afterwards, in a real Prometheus scraping a fleet of two real sidecars.
//
// The rules come from the real CLI, run on the sidecars' own config file, with
// --window-scale 0.01: every window is 100 times shorter (5m → 3s, 30m → 18s, 1h → 36s,
// 6h → 3m36s, the 30d SLO window → 7h12m), so the alert fires and clears within seconds instead of
// hours. The thresholds do not scale: at 99%, the page fires above 0.144 over 1h and 5m or
// above 0.06 over 6h and 30m. Prometheus scrapes and evaluates every second.
//
// Traffic: every 200 ms each sidecar gets 5 checkout and 5 search server spans. First all good;
// then sidecar A's checkout spans all fail (the fleet's checkout error ratio is then about 0.5,
// A's alone would be 1) until the page alert fires; then all good again until it is gone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { postTraces, runCli, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import {
  HAVE_PROMETHEUS, HAVE_PROMTOOL, IN_CI, PROMETHEUS, PROMTOOL, scrapeConfig, startPrometheus, waitForVector, type Prom, type VectorSample,
} from '../support/prometheus.js';

const HAVE_BOTH = HAVE_PROMETHEUS && HAVE_PROMTOOL;
if (!HAVE_BOTH && !IN_CI) {
  console.log(`SLO alerts end to end: skipped: ${HAVE_PROMETHEUS ? PROMTOOL : PROMETHEUS} not found (apt-get install prometheus)`);
}

const CHECKOUT = 'checkout-availability';
const SEARCH = 'search-availability';
const DESCRIPTION = 'Checkout answers {{ without errors }}';
const CONFIG = {
  slos: [
    { name: CHECKOUT, description: DESCRIPTION, service: 'checkout', span_kind: 'server', objective: 99 },
    { name: SEARCH, service: 'search', span_kind: 'server', objective: 99 },
  ],
};

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
}

async function activeAlerts(prom: Prom): Promise<Alert[]> {
  const res = await fetch(`${prom.url}/api/v1/alerts`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { data: { alerts: Alert[] } }).data.alerts;
}

/** Polls the active alerts until `accept` holds or `timeoutMs` passes; returns the last list. */
async function waitForAlerts(prom: Prom, accept: (alerts: Alert[]) => boolean, timeoutMs: number): Promise<Alert[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alerts = await activeAlerts(prom);
    if (accept(alerts) || Date.now() > deadline) return alerts;
    await sleep(250);
  }
}

const pageFor = (slo: string) => (a: Alert) => a.labels.alertname === 'SLOErrorBudgetBurn' && a.labels.severity === 'page' && a.labels.slo === slo;

let traceNo = 0;
function batch(checkoutFails: boolean): Uint8Array {
  const spans: SpanSpec[] = [];
  for (let i = 0; i < 5; i++) {
    traceNo++;
    spans.push({ trace: traceNo, id: 1, kind: 'server', service: 'checkout', name: 'POST /checkout', durMs: 20, error: checkoutFails });
    spans.push({ trace: traceNo, id: 2, kind: 'server', service: 'search', name: 'GET /search', durMs: 20 });
  }
  return request(spans);
}

describe.skipIf(!HAVE_BOTH && !IN_CI)('SLO burn-rate alerts in a real Prometheus', () => {
  let a: Sidecar | undefined;
  let b: Sidecar | undefined;
  let prom: Prom | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-slo-alerts-'));
  let burst = false;
  let sending = true;
  let sendError: unknown;
  let sender: Promise<void> | undefined;

  beforeAll(async () => {
    expect(HAVE_BOTH, `${PROMETHEUS} or ${PROMTOOL} is missing (CI is set, so this fails)`).toBe(true);
    [a, b] = await Promise.all([startSidecar({ config: CONFIG, label: 'A' }), startSidecar({ config: CONFIG, label: 'B' })]);
    const rules = await runCli(['rules', '--config', a.configPath, '--window-scale', '0.01']);
    expect(rules.code, rules.stderr).toBe(0);
    const rulesFile = join(dir, 'slo-rules.yaml');
    writeFileSync(rulesFile, rules.stdout);
    prom = await startPrometheus({ config: scrapeConfig([new URL(a.httpUrl).host, new URL(b.httpUrl).host], [rulesFile]) });
    const [sa, sb] = [a, b];
    sender = (async () => {
      while (sending) {
        const answers = await Promise.all([
          postTraces(sa, batch(burst), 'application/x-protobuf'),
          postTraces(sb, batch(false), 'application/x-protobuf'),
        ]);
        for (const r of answers) if (r.status !== 200) throw new Error(`POST /v1/traces: ${r.status} ${r.text}`);
        await sleep(200);
      }
    })().catch((e: unknown) => {
      sendError = e;
    });
  });

  afterAll(async () => {
    sending = false;
    await sender;
    await Promise.all([prom?.stop(), a?.stop(), b?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the page alert fires on an error burst, labelled with its SLO, and clears when errors stop', async () => {
    const p = prom!;
    const context = () => `prometheus output:\n${p.output()}\nsidecar A:\n${a!.output()}`;

    // All good: one fleet-wide ratio per SLO (no instance or job label), exactly 0; no alert.
    const ratio = 'slo:spanmeter_error_ratio:rate5m';
    const zero = await waitForVector(p, ratio, (v) => v.length === 2 && v.every((s) => s.value[1] === '0'), 20_000);
    const bySlo = (v: VectorSample[]) => [...v].sort((x, y) => x.metric.slo!.localeCompare(y.metric.slo!));
    expect(bySlo(zero).map((s) => [s.metric, s.value[1]]), context()).toEqual([
      [{ __name__: ratio, slo: CHECKOUT }, '0'],
      [{ __name__: ratio, slo: SEARCH }, '0'],
    ]);
    expect(await activeAlerts(p)).toEqual([]);

    // Sidecar A's checkout spans fail: the page alert for checkout fires, and only for checkout.
    burst = true;
    const firing = await waitForAlerts(p, (al) => al.some((x) => pageFor(CHECKOUT)(x) && x.state === 'firing'), 30_000);
    const page = firing.find(pageFor(CHECKOUT));
    expect(page?.state, `alerts: ${JSON.stringify(firing)}\n${context()}`).toBe('firing');
    expect(page!.labels).toEqual({ alertname: 'SLOErrorBudgetBurn', severity: 'page', slo: CHECKOUT });
    // The description came through Prometheus's templating: the user's braces as written, the value as a percentage.
    const [first, second] = page!.annotations.description!.split('\n');
    expect(first).toBe(DESCRIPTION);
    expect(second).toMatch(/^Error ratio \d+(\.\d+)?% over the longer window; the error budget is 1% \(objective 99% over 7h12m\)\. /);
    expect(firing.filter((x) => x.labels.slo === SEARCH)).toEqual([]);
    // The fleet's ratio: A's failing spans over both instances' spans, neither A's 1 nor B's 0.
    const fleet = await waitForVector(p, `${ratio}{slo="${CHECKOUT}"}`, (v) => v.length === 1 && +v[0]!.value[1] > 0.3 && +v[0]!.value[1] < 0.7, 10_000);
    expect(fleet.map((s) => s.metric)).toEqual([{ __name__: ratio, slo: CHECKOUT }]);
    expect(+fleet[0]!.value[1]).toBeGreaterThan(0.3);
    expect(+fleet[0]!.value[1]).toBeLessThan(0.7);

    // Good spans only: once the burst has left the 30m (18 s) window, the page alert is gone.
    burst = false;
    const after = await waitForAlerts(p, (al) => !al.some(pageFor(CHECKOUT)), 45_000);
    expect(after.filter(pageFor(CHECKOUT)), context()).toEqual([]);
    expect(sendError).toBeUndefined();
  }, 120_000);
});
