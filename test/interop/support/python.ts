// The OpenTelemetry Python SDK for the interop tests: a virtual environment made from
// interop/python/requirements.txt and the programs of interop/python/ run from it.
//
// The venv lives in the interop cache (interop/paths.mjs), at venv/<hash of requirements.txt>, so
// a rerun on the same machine reuses it and an edited requirements file gets a new one. A venv is
// used only once it has its `.complete` marker (written after pip succeeded); a half-made one is
// removed and made again. Two processes making the same venv take turns through a lock folder.
//
//   SPANMETER_PYTHON   the interpreter that makes the venv (default: python3)
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interopCacheDir } from '../../../interop/paths.mjs';
import { killGroup, killGroupOnExit, PROJECT_ROOT } from '../../support/sidecar.js';

export const PYTHON_DIR = join(PROJECT_ROOT, 'interop', 'python');
export const REQUIREMENTS = join(PYTHON_DIR, 'requirements.txt');

export interface PythonVenv {
  /** The venv folder. */
  readonly dir: string;
  /** Its bin/ folder (python, pip, opentelemetry-instrument). */
  readonly bin: string;
  /** `python --version` of the venv. */
  readonly version: string;
}

/** `[major, minor]` the SDK pinned in requirements.txt needs at least. */
const MIN_PYTHON: readonly [number, number] = [3, 9];
/** A lock older than this is from a process that died while installing. */
const STALE_LOCK_MS = 15 * 60_000;

function log(msg: string): void {
  process.stderr.write(`[python venv] ${msg}\n`);
}

/** The venv for the current requirements.txt, made (python3 -m venv, pip install -r) when missing. */
export async function pythonVenv(): Promise<PythonVenv> {
  const hash = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex').slice(0, 16);
  const root = join(interopCacheDir(), 'venv');
  const dir = join(root, hash);
  const bin = join(dir, 'bin');
  const marker = join(dir, '.complete');
  mkdirSync(root, { recursive: true });
  if (!existsSync(marker)) {
    const lock = `${dir}.lock`;
    await acquire(lock);
    try {
      if (!existsSync(marker)) await makeVenv(dir, marker);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  const v = spawnSync(join(bin, 'python'), ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) {
    throw new Error(`${dir}: its python does not run (${v.error?.message ?? v.stderr}); delete the folder and rerun`);
  }
  return { dir, bin, version: (v.stdout || v.stderr).trim() };
}

async function acquire(lock: string): Promise<void> {
  for (let said = false; ; ) {
    try {
      mkdirSync(lock);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let age = 0;
    try {
      age = Date.now() - statSync(lock).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    if (age > STALE_LOCK_MS) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!said) log(`waiting for another process making the venv (${lock})`);
    said = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function makeVenv(dir: string, marker: string): Promise<void> {
  const python = process.env.SPANMETER_PYTHON || 'python3';
  const probe = spawnSync(python, ['-c', 'import sys, venv; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `the Python interop tests need ${python} (3.${MIN_PYTHON[1]} or newer, with its venv module): ` +
        (probe.error ? `${probe.error.message}` : `\`${python} -c "import venv"\` failed: ${probe.stderr.trim()}`) +
        ` (set SPANMETER_PYTHON to another interpreter; on Debian: apt-get install python3 python3-venv)`,
    );
  }
  const version = probe.stdout.trim();
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new Error(`${python} is Python ${version}; the pinned OpenTelemetry SDK needs ${MIN_PYTHON.join('.')} or newer (set SPANMETER_PYTHON)`);
  }
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  log(`making ${dir} with ${python} (Python ${version})`);
  await run(python, ['-m', 'venv', dir], 'python3 -m venv');
  log(`pip install -r ${REQUIREMENTS}`);
  await run(
    join(dir, 'bin', 'python'),
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off', '-r', REQUIREMENTS],
    'pip install',
  );
  writeFileSync(marker, `${new Date().toISOString()} Python ${version}\n`);
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Runs a setup command, its output passed through line by line (the progress); rejects on failure. */
function run(cmd: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: pythonEnv() });
    let tail = '';
    const pass = (chunk: Buffer): void => {
      const s = chunk.toString('utf8');
      tail = (tail + s).slice(-8000);
      for (const line of s.split('\n')) if (line.trim()) log(`  ${line.trimEnd()}`);
    };
    child.stdout!.on('data', pass);
    child.stderr!.on('data', pass);
    child.once('error', (err) => reject(new Error(`${what}: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (code ${code}, signal ${signal}):\n${tail}`));
    });
  });
}

/**
 * The environment of a Python child: ours less any OTEL_* of the shell that runs the tests (so
 * that the program's telemetry is configured by the test alone) and less PYTHON* that could
 * point it at other packages, plus `extra`.
 */
export function pythonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'PYTHONPATH' && k !== 'PYTHONHOME' && k !== 'VIRTUAL_ENV'),
  );
  return { ...env, PYTHONUNBUFFERED: '1', ...extra };
}

export interface PyResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved. */
  output: string;
}

const OUTPUT_LIMIT = 256 * 1024;

export interface PyProcess {
  readonly pid: number;
  /** stdout and stderr so far, interleaved (tail kept). */
  output(): string;
  alive(): boolean;
  /** Resolves when the process has exited. */
  readonly exited: Promise<PyResult>;
  /**
   * Stops the process: `signal` (default SIGINT, which a Python program turns into
   * KeyboardInterrupt, so the SDK's atexit shutdown flushes the last spans), SIGKILL to its
   * whole group after `graceMs`. Safe to call twice.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<PyResult>;
}

/**
 * Starts `<venv>/bin/<command> ARGS` (python, opentelemetry-instrument, ...) in interop/python/,
 * in its own process group, output captured.
 */
export function spawnPy(venv: PythonVenv, command: string, args: readonly string[], env: Record<string, string> = {}): PyProcess {
  const child = spawn(join(venv.bin, command), args, {
    cwd: PYTHON_DIR,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // the venv's bin first, as `source bin/activate` would have it
    env: pythonEnv({ VIRTUAL_ENV: venv.dir, PATH: `${venv.bin}:${process.env.PATH ?? ''}`, ...env }),
  });
  killGroupOnExit(child);
  let out = '';
  const append = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_LIMIT) out = '…' + out.slice(out.length - OUTPUT_LIMIT);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let result: PyResult | undefined;
  const exited = new Promise<PyResult>((resolve) => {
    child.once('close', (code, signal) => {
      result = { code, signal, output: out };
      resolve(result);
    });
    child.once('error', (err) => {
      append(Buffer.from(`spawn error: ${err.message}\n`));
      result ??= { code: null, signal: null, output: out };
      resolve(result);
    });
  });
  return {
    pid: child.pid ?? -1,
    output: () => out,
    alive: () => result === undefined,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGINT', graceMs = 10_000) {
      if (result === undefined) {
        killGroup(child, signal);
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      killGroup(child, 'SIGKILL'); // anything left in its group
      return exited;
    },
  };
}

/** Runs `<venv>/bin/python SCRIPT ARGS` to its end (killed after `timeoutMs`). */
export async function runPy(
  venv: PythonVenv,
  script: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<PyResult> {
  const p = spawnPy(venv, 'python', [script, ...args], opts.env);
  const timer = setTimeout(() => void p.stop('SIGKILL', 0), opts.timeoutMs ?? 60_000);
  const r = await p.exited;
  clearTimeout(timer);
  return r;
}
