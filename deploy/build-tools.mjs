// `node deploy/build-tools.mjs`: builds the tools the deploy tests (test/deploy/) run, into the
// interop cache folder (interop/paths.mjs; Go's module and build caches are shared with
// `npm run interop:build`), and ends with one line per tool:
//
//   helm: <absolute path>          helm.sh/helm/v3/cmd/helm at HELM_VERSION, from the Go module proxy
//   deploycheck: <absolute path>   test/deploy/deploycheck: strict decoding into k8s.io/api's
//                                  types and Alloy's own parser (versions pinned in its go.mod)
//
// Each lands in a folder keyed by its version (helm) or by a hash of its sources (deploycheck):
// a rerun only checks that the file is there. Cold: 77 s on 2 cores after the Collector's build
// (its modules and packages cached); from empty caches 3.6 CPU-minutes (3m35s user+sys).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interopCacheDir } from '../interop/paths.mjs';

/** helm's release: its go.mod asks for Go 1.24, the oldest Go the interop build accepts. */
export const HELM_VERSION = 'v3.19.5';
/** The Kubernetes release whose API types deploycheck decodes with (k8s.io/api v0.34.3). */
export const KUBE_VERSION = '1.34.3';

const deploycheckDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'deploy', 'deploycheck');

export function helmPath() {
  return join(interopCacheDir(), 'go', 'bin', `helm-${HELM_VERSION}`, 'helm');
}

export function deploycheckPath() {
  const hash = createHash('sha256');
  for (const f of readdirSync(deploycheckDir).sort()) hash.update(f + '\0').update(readFileSync(join(deploycheckDir, f)));
  return join(interopCacheDir(), 'go', 'bin', `deploycheck-${hash.digest('hex').slice(0, 16)}`, 'deploycheck');
}

function goEnv(cache, extra) {
  const goflags = spawnSync('go', ['env', 'GOFLAGS'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    ...process.env,
    GOMODCACHE: join(cache, 'go', 'mod'),
    GOCACHE: join(cache, 'go', 'build'),
    GOFLAGS: [goflags, '-modcacherw'].join(' ').trim(),
    ...extra,
  };
}

function go(args, env, cwd) {
  const r = spawnSync('go', args, { env, cwd, stdio: 'inherit' });
  if (r.error) throw new Error(`go: ${r.error.message} (Go 1.24 or newer builds the deploy tools)`);
  if (r.status !== 0) throw new Error(`go ${args.join(' ')} exited with ${r.status}`);
}

/** Builds what is missing; returns the paths. */
export function buildDeployTools() {
  const cache = interopCacheDir();
  const helm = helmPath();
  if (!existsSync(helm)) {
    const scratch = `${dirname(helm)}.tmp-${process.pid}`;
    mkdirSync(scratch, { recursive: true });
    console.log(`[deploy:tools] go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`);
    go(['install', `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], goEnv(cache, { GOBIN: scratch }));
    rmSync(dirname(helm), { recursive: true, force: true });
    renameSync(scratch, dirname(helm));
  }
  const check = deploycheckPath();
  if (!existsSync(check)) {
    const scratch = `${dirname(check)}.tmp-${process.pid}`;
    mkdirSync(scratch, { recursive: true });
    console.log(`[deploy:tools] go build ${deploycheckDir}`);
    go(['build', '-buildvcs=false', '-o', join(scratch, 'deploycheck'), '.'], goEnv(cache), deploycheckDir);
    rmSync(dirname(check), { recursive: true, force: true });
    renameSync(scratch, dirname(check));
  }
  return { helm, deploycheck: check };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { helm, deploycheck } = buildDeployTools();
    console.log(`helm: ${helm}`);
    console.log(`deploycheck: ${deploycheck}`);
  } catch (e) {
    console.error(`deploy tools: ${e.message}`);
    process.exit(1);
  }
}
