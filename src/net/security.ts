// TLS and bearer-token settings of the listeners, turned from config into what node:https and
// grpc-js take. Files are read once at startup; a missing or unreadable file stops the start.
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Server } from 'node:net';
import { ConfigError } from '../config/errors.js';
import type { AuthConfig, TlsConfig } from '../config/types.js';

/** A problem with a file the config names is a config error (the CLI exits 2), with its key. */
function fileProblem(key: string, message: string): ConfigError {
  return new ConfigError([{ origin: '', path: key, message }]);
}

/** PEM material for a TLS listener; undefined means plain TCP. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** When present, clients must present a certificate signed by it (mTLS). */
  clientCa?: Buffer;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw fileProblem(what, `cannot read ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

/** Reads the files a TLS config names; undefined when TLS is off (cert_file ""). */
export function loadTls(tls: TlsConfig, prefix: string): TlsMaterial | undefined {
  if (tls.cert_file === '') return undefined;
  const material = {
    cert: readPem(tls.cert_file, `${prefix}.cert_file`),
    key: readPem(tls.key_file, `${prefix}.key_file`),
    clientCa: tls.client_ca_file === '' ? undefined : readPem(tls.client_ca_file, `${prefix}.client_ca_file`),
  };
  try {
    // What the listener will do with them: PEM that does not parse, or a key of another certificate.
    createSecureContext({ cert: material.cert, key: material.key, ca: material.clientCa });
  } catch (err) {
    throw fileProblem(prefix, `the certificate, key or CA files are not usable: ${(err as Error).message}`);
  }
  return material;
}

/** The bearer token an auth config asks for, or undefined when auth is off. */
export function loadBearerToken(auth: AuthConfig, prefix: string): string | undefined {
  if (auth.bearer_token !== '') return auth.bearer_token;
  if (auth.bearer_token_file === '') return undefined;
  const token = readPem(auth.bearer_token_file, `${prefix}.bearer_token_file`).toString('utf8').trim();
  if (token === '') throw fileProblem(`${prefix}.bearer_token_file`, `${JSON.stringify(auth.bearer_token_file)} is empty`);
  return token;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * A checker for `Authorization` header values: true when `Bearer <token>` (scheme
 * case-insensitive) carries the expected token. Constant time in the token's content.
 */
export function bearerChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    if (authorization === undefined) return false;
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return false;
    return timingSafeEqual(digest(m[1]!), expected);
  };
}

/** Go's net/http answer to plain HTTP on a TLS port (server.go), so curl and SDKs say what went wrong. */
export const PLAINTEXT_ANSWER = 'HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

/** OpenSSL's reading of plain HTTP/1 ("http request") and of an HTTP/2 preface or other plaintext ("wrong version number"). */
export function isPlaintextError(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ERR_SSL_HTTP_REQUEST' || err.code === 'ERR_SSL_WRONG_VERSION_NUMBER';
}

/**
 * On a TLS server: a client that sends plain HTTP/1 gets PLAINTEXT_ANSWER in plain text before
 * the connection closes, instead of a silent close (issue 21 item 9). ConnectionGuard counts and
 * logs the failed handshakes.
 */
export function answerPlaintext(server: Server): void {
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: { _parent?: { writable: boolean; end(s: string): void } }) => {
    if (err.code === 'ERR_SSL_HTTP_REQUEST' && socket._parent?.writable) socket._parent.end(PLAINTEXT_ANSWER);
  });
}
