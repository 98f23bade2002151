// `spanmeter --demo` as a child process on free loopback ports (its own process group), for the
// tests that need the demo's shop: test/ui/demo.test.ts, test/ui/responsive.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePorts, PROJECT_ROOT } from '../support/sidecar.js';

export interface DemoProcess {
  child: ChildProcess;
  /** The page's address, e.g. http://127.0.0.1:40001/ */
  page: string;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export async function spawnDemo(): Promise<DemoProcess> {
  const [http, otlp] = await freePorts(2);
  let output = '';
  const child = spawn(
    process.execPath,
    ['bin/spanmeter.js', '--demo', '--http-endpoint', `127.0.0.1:${http}`, '--otlp.http-endpoint', `127.0.0.1:${otlp}`, '--otlp.grpc-endpoint', '', '--log-level', 'warn'],
    { cwd: PROJECT_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPANMETER_'))) },
  );
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, page: `http://127.0.0.1:${http}/`, output: () => output, exited };
}
