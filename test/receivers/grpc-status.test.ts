// The receivers' gRPC status codes (src/receivers/grpc-status.ts) against @grpc/grpc-js's
// `status` enum, which holds the codes of grpc/grpc doc/statuscodes.md.
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Code } from '../../src/receivers/grpc-status.js';

describe('gRPC status codes', () => {
  it('has every name and number of grpc-js', () => {
    const names = Object.keys(status).filter((k) => Number.isNaN(Number(k)));
    expect(names).toHaveLength(17); // OK (0) through UNAUTHENTICATED (16), doc/statuscodes.md
    for (const name of names) expect(Code[name as keyof typeof Code], name).toBe(status[name as keyof typeof status]);
    expect(Object.keys(Code).filter((k) => Number.isNaN(Number(k))).sort()).toEqual(names.sort());
    expect(Code[Code.UNAVAILABLE]).toBe('UNAVAILABLE'); // the name by number, as grpc.ts logs it
  });
});
