import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { helpText } from '../../src/config/help.js';
import { FLAGS } from '../../src/config/flags.js';
import { LEAVES } from '../../src/config/keys.js';
import { createLogger } from '../../src/log.js';

describe('--help text', () => {
  const text = helpText();

  it('has the usage line, every flag, every env var and the docs pointer', () => {
    expect(text).toContain('spanmeter [--config FILE] [flags]');
    for (const f of FLAGS) expect(text).toContain(f.name);
    expect(text).toContain('-h, --help');
    for (const l of LEAVES) expect(text).toContain(l.env);
    expect(text).toContain('SPANMETER_CONFIG');
    expect(text).toContain('docs/config.md');
    expect(text).toContain('--otlp.http-endpoint HOST:PORT');
    expect(text).toContain('--set KEY=VALUE');
  });

  it('fits in 100 columns', () => {
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });
});

describe('createLogger', () => {
  function capture(level: Parameters<typeof createLogger>[0]) {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    return { log: createLogger(level, sink), lines };
  }

  it('writes one JSON object per line with level name, ISO time, name and message', async () => {
    const { log, lines } = capture('info');
    log.info({ endpoint: '127.0.0.1:4318' }, 'OTLP/HTTP listening');
    log.debug('hidden');
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 'info', name: 'spanmeter', msg: 'OTLP/HTTP listening', endpoint: '127.0.0.1:4318' });
    expect(rec.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(typeof rec.pid).toBe('number');
  });

  it('honours the level; silent logs nothing', async () => {
    const warn = capture('warn');
    warn.log.info('no');
    warn.log.error('yes');
    const silent = capture('silent');
    silent.log.fatal('no');
    await new Promise((r) => setImmediate(r));
    expect(warn.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['yes']);
    expect(silent.lines).toEqual([]);
  });

  it('serializes err as pino does, and an err without message gives the message', async () => {
    // Expected shape from pino-std-serializers' lib/err.js (pino's default `err` serializer):
    // type = constructor name, message and stack with the cause appended (": " / "\ncaused by: "),
    // the error's other enumerable fields kept; pino takes msg from err.message when none is given.
    const { log, lines } = capture('info');
    const cause = new Error('root');
    const err = Object.assign(new TypeError('bad', { cause }), { code: 'E_BAD' });
    log.error({ err, to: 'x' });
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    log.warn({ circular }, 'cycle');
    await new Promise((r) => setImmediate(r));
    const rec = JSON.parse(lines[0]!) as { err: Record<string, unknown> } & Record<string, unknown>;
    expect(Object.keys(rec)).toEqual(['level', 'time', 'pid', 'hostname', 'name', 'err', 'to', 'msg']);
    expect(rec.msg).toBe('bad');
    expect(rec.err).toEqual({ type: 'TypeError', message: 'bad: root', stack: `${err.stack!}\ncaused by: ${cause.stack!}`, code: 'E_BAD' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ circular: { a: 1, self: '[Circular]' }, msg: 'cycle' });
  });

  it('defaults to stdout', () => {
    const log = createLogger('info');
    expect(log.level).toBe('info');
  });
});

describe('docs/config.md', () => {
  it('documents every key, every env var and every flag', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
    for (const l of LEAVES) {
      expect(doc, l.env).toContain(`\`${l.env}\``);
      expect(doc, l.key).toContain(`\`${l.key}\``);
    }
    for (const f of FLAGS) expect(doc, f.name).toContain(`\`${f.name}`);
  });
});
