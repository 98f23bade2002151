// The harness's own Prometheus text parser, checked on hand-written exposition.
import { describe, expect, test } from 'vitest';
import { parsePrometheusText, validateExposition } from './prom-text.js';

describe('prom-text parser', () => {
  test('HELP, TYPE, labels, escapes, special values, timestamps', () => {
    const text = [
      '# HELP calls_total Calls, with a \\\\ backslash and a \\n newline',
      '# TYPE calls_total counter',
      'calls_total{service="a",span_name="say \\"hi\\"",path="C:\\\\temp\\\\new",multi="x\\ny"} 3',
      'calls_total{service="b",} 4.5 1700000000000',
      'calls_total{ service = "c" , k="🚀 名前" } 1e3',
      '# a plain comment',
      '',
      '# TYPE up gauge',
      'up 1',
      'up{x="pinf"} +Inf',
      'up{x="ninf"} -Inf',
      'up{x="nan"} NaN',
      'up{x="neg"} -0.25 -5',
      'untyped_thing{a="1"}\t7',
      '',
    ].join('\n');
    const expo = parsePrometheusText(text);
    const calls = expo.families.get('calls_total')!;
    expect(calls.type).toBe('counter');
    expect(calls.help).toBe('Calls, with a \\ backslash and a \n newline');
    expect(calls.samples.map((s) => s.labels)).toEqual([
      { service: 'a', span_name: 'say "hi"', path: 'C:\\temp\\new', multi: 'x\ny' },
      { service: 'b' },
      { service: 'c', k: '🚀 名前' },
    ]);
    expect(calls.samples.map((s) => s.value)).toEqual([3, 4.5, 1000]);
    expect(calls.samples[1]!.timestampMs).toBe(1700000000000);
    const up = expo.families.get('up')!;
    expect(up.type).toBe('gauge');
    expect(up.samples.map((s) => s.value)).toEqual([1, Infinity, -Infinity, NaN, -0.25]);
    expect(up.samples[4]!.timestampMs).toBe(-5);
    expect(expo.families.get('untyped_thing')!.type).toBe('untyped');
    expect(expo.samples).toHaveLength(9);
    expect(validateExposition(expo)).toEqual([]);
  });

  test('histogram samples join their family', () => {
    const text = [
      '# HELP lat Latency.',
      '# TYPE lat histogram',
      'lat_bucket{s="a",le="0.1"} 1',
      'lat_bucket{s="a",le="1"} 2',
      'lat_bucket{s="a",le="+Inf"} 3',
      'lat_sum{s="a"} 7.5',
      'lat_count{s="a"} 3',
      '',
    ].join('\n');
    const expo = parsePrometheusText(text);
    expect([...expo.families.keys()]).toEqual(['lat']);
    expect(expo.samples.map((s) => s.family)).toEqual(['lat', 'lat', 'lat', 'lat', 'lat']);
    expect(validateExposition(expo)).toEqual([]);
  });

  test('a carriage return inside a label value stands for itself', () => {
    const e = parsePrometheusText('a{b="x\ry\r",c="\r"} 1\n');
    expect(e.samples[0]!.labels).toEqual({ b: 'x\ry\r', c: '\r' });
  });

  test('empty text is an empty exposition', () => {
    expect(parsePrometheusText('').samples).toEqual([]);
  });

  const bad: [string, string, RegExp][] = [
    ['no final line feed', 'a 1', /line feed/],
    ['unquoted label value', 'a{b=c} 1\n', /quoted/],
    ['unterminated label value', 'a{b="c} 1\n', /unterminated|expected/],
    ['bad escape', 'a{b="\\t"} 1\n', /escape/],
    ['label twice', 'a{b="1",b="2"} 1\n', /twice/],
    ['bad label name', 'a{1b="1"} 1\n', /label name/],
    ['bad metric name', '1a 1\n', /metric name/],
    ['missing value', 'a{b="1"}\n', /blank|value/],
    ['bad value', 'a 1.2.3\n', /value/],
    ['lowercase inf', 'a inf\n', /value/],
    ['bad timestamp', 'a 1 1.5\n', /timestamp/],
    ['trailing text', 'a 1 2 3\n', /trailing/],
    ['no blank before value', 'a{b="1"}1\n', /blank/],
    ['unknown type', '# TYPE a countr\na 1\n', /type/],
    ['second TYPE', '# TYPE a counter\n# TYPE a counter\na 1\n', /second TYPE/],
    ['second HELP', '# HELP a x\n# HELP a y\na 1\n', /second HELP/],
    ['TYPE after samples', 'a 1\n# TYPE a counter\n', /after its samples/],
    ['family split in two groups', 'a 1\nb 1\na{x="1"} 2\n', /one group/],
    ['carriage return', 'a 1\r\n', /carriage/],
    ['carriage return after the labels', 'a{b="1"}\r 1\n', /carriage/],
    ['carriage return in a comment', '# HELP a x\r\na 1\n', /carriage/],
    ['malformed TYPE', '# TYPE\n', /HELP\/TYPE/],
  ];
  for (const [what, text, err] of bad) {
    test(`rejects: ${what}`, () => {
      expect(() => parsePrometheusText(text)).toThrow(err);
    });
  }

  test('validateExposition finds histogram and counter problems', () => {
    const text = [
      '# TYPE lat histogram',
      'lat_bucket{le="0.1"} 2',
      'lat_bucket{le="1"} 1',
      'lat_sum 3',
      'lat_count 2',
      'lat_bucket{s="x",le="1"} 1',
      'lat_count{s="x"} 1',
      '# TYPE c_total counter',
      'c_total -1',
      'c_total 2',
      '',
    ].join('\n');
    const problems = validateExposition(parsePrometheusText(text));
    expect(problems.some((p) => /le=1 \(1\) < le=0.1 \(2\)/.test(p))).toBe(true);
    expect(problems.some((p) => /lat\{\} .*no le="\+Inf"/.test(p))).toBe(true);
    expect(problems.some((p) => /s="x".*no _sum/.test(p))).toBe(true);
    expect(problems.some((p) => /counter c_total has value -1/.test(p))).toBe(true);
    expect(problems.some((p) => /duplicate sample c_total\{\}/.test(p))).toBe(true);
  });
});
