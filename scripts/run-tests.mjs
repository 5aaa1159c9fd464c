#!/usr/bin/env node
// The whole test suite, as the README and .ci/run invoke it (`npm test`):
//   1. build the native addon (if its sources exist) so root-only tests can load it,
//   2. typecheck everything (a type error is a failed test),
//   3. run mocha over unit, integration and netns tests with a reporter whose last line is
//      "N passed, N failed, N skipped".
// Extra arguments are passed to mocha (e.g. `npm test -- --grep vrrp`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

if (existsSync(join(root, 'binding.gyp'))) {
  if (run(process.execPath, [join(root, 'scripts', 'build-addon.mjs')]) !== 0) {
    console.log('\n0 passed, 1 failed, 0 skipped');
    process.exit(1);
  }
}

if (run(bin('tsc'), ['-p', '.', '--noEmit']) !== 0) {
  console.error('typecheck failed');
  console.log('\n0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

const specs = ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/netns/**/*.test.ts'];
const status = run(bin('mocha'), ['--reporter', join(root, 'test/support/reporter.cjs'), ...specs, ...process.argv.slice(2)]);
process.exit(status);
