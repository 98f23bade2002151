// SLO counters and the span-events metric through the public API, each expected line written
// out by hand from the spans sent: selection by service, exact name, name pattern and kind,
// good by status, HTTP 5xx and latency (a span exactly on the threshold is good), weights, and
// the events' labels.
import { describe, expect, it } from 'vitest';
import { Spanmeter, type SpanmeterConfig } from '../../src/index.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';

const NOW = 1_700_000_000_500;

async function metrics(config: SpanmeterConfig, spans: SpanSpec[]): Promise<{ meter: Spanmeter; lines: string[] }> {
  const meter = await Spanmeter.create(config);
  expect(meter.ingest(request(spans), NOW)).toMatchObject({ ok: true, spans: spans.length });
  return { meter, lines: meter.metrics().split('\n') };
}

const only = (lines: string[], prefix: string): string[] => lines.filter((l) => l.startsWith(prefix)).sort();

let n = 0;
function span(service: string, name: string, durMs: number, more: Partial<SpanSpec> = {}): SpanSpec {
  n++;
  return { trace: n, id: n, kind: 'server', service, name, durMs, ...more };
}

describe('SLO counters', () => {
  it('availability: selected by service and kind; ERROR status and (opted in) HTTP 5xx fail', async () => {
    const { lines, meter } = await metrics(
      {
        slos: [
          { name: 'api-availability', service: 'api', span_kind: 'server', objective: 99.9 },
          { name: 'api-http', service: 'api', span_kind: 'SPAN_KIND_SERVER', objective: 99, http_5xx_as_error: true },
        ],
      },
      [
        span('api', 'GET /a', 5), // good for both
        span('api', 'GET /a', 5, { error: true }), // bad for both
        span('api', 'GET /b', 5, { attrs: { 'http.response.status_code': 503 } }), // bad only with http_5xx_as_error
        span('api', 'GET /b', 5, { attrs: { 'http.status_code': '500' } }), // old key, as a string: the same
        span('api', 'GET /b', 5, { attrs: { 'http.response.status_code': 499 } }), // 4xx: good
        span('api', 'GET /b', 5, { attrs: { 'http.response.status_code': 600 } }), // not 5xx: good
        span('api', 'GET /c', 5, { kind: 'client', error: true }), // other kind: not selected
        span('web', 'GET /a', 5, { error: true }), // other service: not selected
      ],
    );
    expect(only(lines, 'spanmeter_slo')).toEqual([
      'spanmeter_slo_good_total{slo="api-availability"} 5',
      'spanmeter_slo_good_total{slo="api-http"} 3',
      'spanmeter_slo_total{slo="api-availability"} 6',
      'spanmeter_slo_total{slo="api-http"} 6',
    ]);
    expect(meter.core.sloCounts()).toEqual([{ good: 5, total: 6 }, { good: 3, total: 6 }]);
  });

  it('latency: at or under the threshold is good, exactly on it too; exact and pattern names', async () => {
    const { lines } = await metrics(
      {
        slos: [
          { name: 'get-latency', span_name_regex: 'GET /(cart|checkout)', objective: 99, kind: 'latency', threshold: '300ms' },
          { name: 'cart-latency', span_name: 'GET /cart', objective: 95, kind: 'latency', threshold: '250ms' },
          { name: 'everything', objective: 90, kind: 'latency', threshold: '1s' },
        ],
      },
      [
        span('api', 'GET /cart', 300), // exactly 300 ms: good for get-latency; bad for cart-latency
        span('web', 'GET /cart', 300.000001), // 1 ns over: bad for both
        span('api', 'GET /checkout', 250), // get-latency good; not cart-latency
        span('api', 'GET /cart', 250, { error: true }), // latency SLOs ignore status: good, good
        span('api', 'GET /cartx', 1), // the pattern is anchored: not selected
        span('api', 'xGET /cart', 1), // nor here
        span('api', 'POST /cart', 1000), // everything: exactly 1 s, good
        span('api', 'POST /cart', 1001), // everything: bad
      ],
    );
    expect(only(lines, 'spanmeter_slo')).toEqual([
      'spanmeter_slo_good_total{slo="cart-latency"} 1',
      'spanmeter_slo_good_total{slo="everything"} 7',
      'spanmeter_slo_good_total{slo="get-latency"} 3',
      'spanmeter_slo_total{slo="cart-latency"} 3',
      'spanmeter_slo_total{slo="everything"} 8',
      'spanmeter_slo_total{slo="get-latency"} 4',
    ]);
  });

  it('a span ending before it starts lasted 0; the span multiplier weights SLO counts', async () => {
    const { lines } = await metrics(
      {
        processor: { span_metrics: { span_multiplier_key: 'sampling.ratio' } },
        slos: [{ name: 'l', objective: 99, kind: 'latency', threshold: '1ms' }],
      },
      [
        span('api', 'a', -5), // negative duration: 0, good
        span('api', 'a', 2, { attrs: { 'sampling.ratio': 0.25 } }), // counts 4, bad
        span('api', 'a', 1, { attrs: { 'sampling.ratio': 0.5 } }), // counts 2, good
      ],
    );
    expect(only(lines, 'spanmeter_slo')).toEqual([
      'spanmeter_slo_good_total{slo="l"} 3',
      'spanmeter_slo_total{slo="l"} 7',
    ]);
  });

  it('keeps counting past the series limit, and its series are outside the budget', async () => {
    const meter = await Spanmeter.create({
      processors: ['span-metrics'], // the budget below is span metrics' alone (service graphs reserve their own overflow)
      registry: { max_active_series: 40 }, // 19 per span-metrics label set, 19 reserved for the overflow series
      slos: [
        { name: 'exact', service: 'api', span_name: 'late name', objective: 99 },
        { name: 'pattern', span_name_regex: 'late.*', objective: 99 },
      ],
    });
    expect(meter.ingest(request([span('api', 'first', 1)]), NOW)).toMatchObject({ ok: true });
    expect(meter.core.activeSeries()).toBe(19);
    // New names no longer get a series (nor, unless an SLO names them, a stored string), yet the SLOs see them.
    const late = [span('api', 'late name', 1), span('api', 'late name', 1, { error: true }), span('api', 'later', 1)];
    expect(meter.ingest(request(late), NOW)).toMatchObject({ ok: true });
    expect(meter.core.activeSeries()).toBe(19);
    expect(meter.core.seriesLimited()).toBe(3);
    expect(meter.core.sloCounts()).toEqual([{ good: 1, total: 2 }, { good: 2, total: 3 }]);
  });

  it('a pattern is asked once per distinct name, and again after the names were swept', async () => {
    const meter = await Spanmeter.create({
      registry: { stale_duration: '1s' },
      slos: [{ name: 'p', span_name_regex: 'GET .*', objective: 99 }],
    });
    expect(meter.ingest(request([span('api', 'GET a', 1), span('api', 'GET a', 1), span('api', 'PUT a', 1)]), NOW)).toMatchObject({ ok: true });
    expect(meter.ingest(request([span('api', 'GET a', 1), span('api', 'PUT a', 1)]), NOW)).toMatchObject({ ok: true });
    expect(meter.core.sloCounts()).toEqual([{ good: 3, total: 3 }]);
    meter.expire(NOW + 5_000); // every series stale: the names are freed, and their ids may be reused
    expect(meter.ingest(request([span('api', 'PUT b', 1), span('api', 'GET b', 1)]), NOW + 5_000)).toMatchObject({ ok: true });
    expect(meter.core.sloCounts()).toEqual([{ good: 4, total: 4 }]);
  });
});

describe('span events metric', () => {
  const config: SpanmeterConfig = {
    processor: { span_metrics: { dimensions: ['http.method'], events: { enabled: true, dimensions: ['exception.type'] } } },
  };

  it('counts events by the span labels, event_name and event dimensions', async () => {
    const { lines } = await metrics(config, [
      span('api', 'GET /a', 5, {
        error: true,
        attrs: { 'http.method': 'GET' },
        events: [
          { name: 'exception', attrs: { 'exception.type': 'IOError', 'exception.message': 'x' } },
          { name: 'exception', attrs: { 'exception.type': 'IOError' } },
          { name: 'exception', attrs: { 'exception.type': 'TimeoutError' } },
          { name: 'retry' },
        ],
      }),
      span('api', 'GET /a', 5, { attrs: { 'http.method': 'GET' }, events: [{ name: 'retry', attrs: { 'exception.type': 'n/a' } }] }),
      span('api', 'GET /b', 5), // no events: no events series
      span('web', 'GET /a', 5, { kind: 'client', events: [{ name: 'exception', attrs: { 'exception.type': 'IOError' } }] }),
    ]);
    const base = 'service="api",span_name="GET /a",span_kind="SPAN_KIND_SERVER"';
    expect(only(lines, 'traces_spanmetrics_events_total')).toEqual([
      `traces_spanmetrics_events_total{${base},status_code="STATUS_CODE_ERROR",http_method="GET",event_name="exception",exception_type="IOError"} 2`,
      `traces_spanmetrics_events_total{${base},status_code="STATUS_CODE_ERROR",http_method="GET",event_name="exception",exception_type="TimeoutError"} 1`,
      `traces_spanmetrics_events_total{${base},status_code="STATUS_CODE_ERROR",http_method="GET",event_name="retry"} 1`,
      `traces_spanmetrics_events_total{${base},status_code="STATUS_CODE_UNSET",http_method="GET",event_name="retry",exception_type="n/a"} 1`,
      'traces_spanmetrics_events_total{service="web",span_name="GET /a",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_UNSET",event_name="exception",exception_type="IOError"} 1',
    ].sort());
    // Calls are unchanged by events.
    expect(only(lines, 'traces_spanmetrics_calls_total')).toHaveLength(4);
  });

  it('off by default; with naming: otel the Collector name', async () => {
    const withEvents = [span('api', 'x', 1, { events: [{ name: 'e' }] })];
    const off = await metrics({}, withEvents);
    expect(off.lines.some((l) => l.includes('events'))).toBe(false);
    const otel = await metrics({ naming: 'otel', processor: { span_metrics: { events: { enabled: true } } } }, withEvents);
    expect(only(otel.lines, 'traces_span_metrics_events_total')).toEqual([
      'traces_span_metrics_events_total{service_name="api",span_name="x",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",event_name="e"} 1',
    ]);
  });

  it('an event attribute is looked up on the event only, and a malformed event rejects the request whole', async () => {
    const meter = await Spanmeter.create(config);
    // exception.type on the span, not on the event: no label.
    const ok = meter.ingest(request([span('api', 'a', 1, { attrs: { 'exception.type': 'Span' }, events: [{ name: 'exception' }] })]), NOW);
    expect(ok).toMatchObject({ ok: true });
    expect(only(meter.metrics().split('\n'), 'traces_spanmetrics_events_total')).toEqual([
      'traces_spanmetrics_events_total{service="api",span_name="a",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",event_name="exception"} 1',
    ]);
  });
});
