import { describe, expect, it } from 'vitest';
import { DurationError, formatDuration, parseDuration } from '../../src/config/duration.js';

describe('parseDuration (Go time.ParseDuration syntax, result in ms)', () => {
  it.each([
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5h', 5_400_000],
    ['1.1s', 1100],
    ['.5s', 500],
    ['1.s', 1000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['250μs', 0.25],
    ['1ns', 0.000001],
    ['0', 0],
    ['-0', 0],
    ['0s', 0],
    ['+5s', 5000],
    ['-1.5s', -1500],
    ['1s500ms', 1500],
    ['0.0000000001s', 0], // below 1 ns truncates, as in Go
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'invalid duration ""'],
    ['10', 'invalid duration "10" (missing unit: ns, us, ms, s, m, h)'],
    ['1m30', 'invalid duration "1m30" (missing unit: ns, us, ms, s, m, h)'],
    ['10 s', 'invalid duration "10 s" (unknown unit " s": use ns, us, ms, s, m, h)'],
    ['10d', 'invalid duration "10d" (unknown unit "d": use ns, us, ms, s, m, h)'],
    ['1e3s', 'invalid duration "1e3s" (unknown unit "e": use ns, us, ms, s, m, h)'],
    ['s', 'invalid duration "s"'],
    ['.s', 'invalid duration ".s"'],
    ['-', 'invalid duration "-"'],
    ['1s-2s', 'invalid duration "1s-2s" (unknown unit "s-": use ns, us, ms, s, m, h)'],
    ['3000000h', 'invalid duration "3000000h" (too large)'],
  ])('%j is rejected: %s', (text, message) => {
    expect(() => parseDuration(text)).toThrowError(new DurationError(message));
  });

  it('formatDuration prints Go style', () => {
    expect(formatDuration(10_000)).toBe('10s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(3_600_000)).toBe('1h0m0s');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(0.25)).toBe('250µs');
  });
});
