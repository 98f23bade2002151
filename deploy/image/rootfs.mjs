// `node deploy/image/rootfs.mjs EXECUTABLE OUTDIR`: lays out the root file system of spanmeter's
// image (the Dockerfile's last stage copies it onto an empty base): the single executable file
// (`npm run build:sea`) at /usr/local/bin/spanmeter, the shared libraries it links (as `ldd`
// lists them on the build machine, the dynamic loader included) at their paths, /etc/passwd and
// /etc/group with the non-root user 65532 (`nonroot`, as distroless images name it), and /tmp.
// Nothing else: no shell, no package manager.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const USER_ID = 65532;

export function layoutRootfs(executable, out) {
  const put = (path, from) => {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    copyFileSync(realpathSync(from), join(out, path));
  };
  put('/usr/local/bin/spanmeter', executable);
  chmodSync(join(out, 'usr/local/bin/spanmeter'), 0o755);
  const libs = [];
  for (const line of execFileSync('ldd', [executable], { encoding: 'utf8' }).split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /=>\s+(\/\S+)\s+\(/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
    else if (/not found/.test(line)) throw new Error(`ldd ${executable}: ${line.trim()}`);
  }
  for (const lib of libs) {
    put(lib, lib);
    chmodSync(join(out, lib), 0o755);
  }
  mkdirSync(join(out, 'etc'), { recursive: true });
  writeFileSync(join(out, 'etc/passwd'), `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${USER_ID}:${USER_ID}:nonroot:/home/nonroot:/sbin/nologin\n`);
  writeFileSync(join(out, 'etc/group'), `root:x:0:\nnonroot:x:${USER_ID}:\n`);
  mkdirSync(join(out, 'home/nonroot'), { recursive: true });
  mkdirSync(join(out, 'tmp'), { recursive: true });
  chmodSync(join(out, 'tmp'), 0o1777);
  return { libs };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const [executable, out] = process.argv.slice(2);
  if (!executable || !out) {
    console.error('usage: node deploy/image/rootfs.mjs EXECUTABLE OUTDIR');
    process.exit(2);
  }
  const { libs } = layoutRootfs(executable, out);
  console.log(`rootfs ${out}: /usr/local/bin/spanmeter and ${libs.length} libraries (${libs.join(', ')})`);
}
