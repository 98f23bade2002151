import { describe, expect, it } from 'vitest';
import { formatHostPort, parseEndpoint } from '../../src/net/endpoint.js';

describe('endpoints', () => {
  it('parses host:port, [v6]:port and :port', () => {
    expect(parseEndpoint('127.0.0.1:4318')).toEqual({ host: '127.0.0.1', port: 4318 });
    expect(parseEndpoint('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseEndpoint('[::1]:4317')).toEqual({ host: '::1', port: 4317 });
    expect(parseEndpoint(':9464')).toEqual({ host: undefined, port: 9464 });
    expect(parseEndpoint('0.0.0.0:65535')).toEqual({ host: '0.0.0.0', port: 65535 });
  });

  it('refuses what is not host:port, naming the endpoint', () => {
    for (const bad of ['', '4318', 'localhost', 'localhost:', 'localhost:http', '::1:4317', 'host:65536', 'http://x:1']) {
      expect(() => parseEndpoint(bad), bad).toThrow(`invalid endpoint "${bad}"`);
    }
  });

  it('formats IPv6 hosts in brackets', () => {
    expect(formatHostPort('127.0.0.1', 80)).toBe('127.0.0.1:80');
    expect(formatHostPort('::1', 4317)).toBe('[::1]:4317');
  });
});
