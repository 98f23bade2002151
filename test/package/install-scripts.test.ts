// package.json's allowScripts (npm 11.16 and later; npm's docs, "npm install-scripts"): every
// dependency in package-lock.json that has an install script is reviewed there, allowed (true) or
// denied (false), so that `npm install` runs only reviewed scripts (npm 11 warns of the others and
// npm 12 skips them), and a new dependency with an install script fails here until someone looks.
// Today one: protobufjs 7.6.6 (under @grpc/proto-loader), denied: its postinstall only warns about
// a dependent's version range, from a package.json two folders up that no install has.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from '../abi/helpers.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; hasInstallScript?: boolean }>;
};

/** name@version of each locked package with an install script (its name: the path after the last node_modules/). */
const withScripts = Object.entries(lock.packages)
  .filter(([path, p]) => path !== '' && p.hasInstallScript)
  .map(([path, p]) => `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${p.version}`);

test('every locked dependency with an install script has an allowScripts entry, and every entry names one', () => {
  const entries = Object.keys(pkg.allowScripts ?? {});
  const nameOf = (id: string): string => id.slice(0, id.lastIndexOf('@'));
  expect(withScripts.filter((id) => !entries.includes(id) && !entries.includes(nameOf(id)))).toEqual([]);
  expect(entries.filter((e) => !withScripts.some((id) => id === e || nameOf(id) === e))).toEqual([]);
});
