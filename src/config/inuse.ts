// What the sidecar says when a port it should listen on is taken (EADDRINUSE): which endpoint
// key, which process holds the port (Linux: found through /proc), and how to run both (the
// command again, on other ports). Used by cli.ts; it speaks of config keys and flags only.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Config } from './types.js';
import { splitEndpoint } from './values.js';

/** The flag of each listening key (config/flags.ts), for the "run both" command. */
const ENDPOINT_FLAGS = [
  ['otlp.http_endpoint', '--otlp.http-endpoint'],
  ['otlp.grpc_endpoint', '--otlp.grpc-endpoint'],
  ['http_endpoint', '--http-endpoint'],
] as const;

/** What the other ports are offset by in the suggested command. */
const PORT_OFFSET = 10_000;

function endpointOf(config: Config, key: (typeof ENDPOINT_FLAGS)[number][0]): string {
  return key === 'http_endpoint' ? config.http_endpoint : key === 'otlp.http_endpoint' ? config.otlp.http_endpoint : config.otlp.grpc_endpoint;
}

/** The port of an "address already in use" error: node's err.port, or the last ":N" of a gRPC message. */
function portInUse(err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e.code === 'EADDRINUSE' && typeof e.port === 'number') return e.port;
  if (!/EADDRINUSE|address already in use/i.test(e.message)) return undefined;
  const m = /:(\d{1,5})(?!.*:\d)/.exec(e.message);
  return m ? Number(m[1]) : undefined;
}

/**
 * The process listening on a TCP port, as "pid N (command line)", or undefined (not Linux, or
 * a process of another user). Reads /proc/net/tcp{,6} for the socket's inode, then /proc/PID/fd.
 */
export function processOnPort(port: number): string | undefined {
  try {
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // local_address is HEX_IP:HEX_PORT; st 0A is LISTEN; the inode is field 9.
        if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1] ?? '', 16) === port) inodes.add(f[9]!);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && inodes.has(m[1]!)) {
          const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
          return `pid ${pid} (${cmd})`;
        }
      }
    }
  } catch {
    // best effort only
  }
  return undefined;
}

/** How this process was started, for the suggested command: `npm start --` or `node bin/spanmeter.js`. */
function invocation(): string {
  if (process.env.npm_lifecycle_event === 'start') return 'npm start --';
  const script = process.argv[1] ?? '';
  return /bin[\\/]spanmeter\.js$/.test(script) ? 'node bin/spanmeter.js' : 'spanmeter';
}

/** The arguments without --demo and the endpoint flags (with their values): the command sets those itself. */
function otherArgs(argv: readonly string[]): string[] {
  const flags = new Set<string>(ENDPOINT_FLAGS.map(([, flag]) => flag));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--demo' || flags.has(a.split('=')[0]!)) {
      if (flags.has(a) && i + 1 < argv.length) i++; // its value
      continue;
    }
    out.push(a);
  }
  return out;
}

/** An argument as a POSIX shell reads it back. */
function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * The message for a listen error caused by a taken port, or undefined for any other error.
 * `demo`: the command suggested keeps --demo.
 */
export function explainListenError(err: unknown, config: Config, demo: boolean): string | undefined {
  const port = portInUse(err);
  if (port === undefined) return undefined;
  const clash = ENDPOINT_FLAGS.find(([key]) => {
    const value = endpointOf(config, key);
    return value !== '' && splitEndpoint(value).port === port;
  });
  const key = clash?.[0];
  const holder = processOnPort(port);
  const who = holder === undefined ? 'another process' : holder.includes('spanmeter') ? `another spanmeter, ${holder}` : holder;
  const moved = ENDPOINT_FLAGS.map(([k, flag]) => {
    const value = endpointOf(config, k);
    if (value === '') return `${flag} ''`;
    const { host, port: p } = splitEndpoint(value);
    const next = p === 0 ? 0 : p + PORT_OFFSET > 65_535 ? 0 : p + PORT_OFFSET;
    return `${flag} ${host === '' ? '' : host.includes(':') ? `[${host}]` : host}:${next}`;
  });
  const command = [invocation(), ...(demo ? ['--demo'] : []), ...otherArgs(process.argv.slice(2)).map(shellQuote), ...moved].join(' ');
  return [
    `spanmeter: port ${port}${key ? ` (${key} ${endpointOf(config, key)})` : ''} is already in use, by ${who}.`,
    'To run both, stop that one or start this one on other ports, e.g.',
    `  ${command}`,
    demo ? 'and open the web page at the new --http-endpoint.' : '',
  ].filter(Boolean).join('\n') + '\n';
}
