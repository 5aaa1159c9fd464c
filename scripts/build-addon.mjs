#!/usr/bin/env node
// Builds the native addon (native/rawnet.c → build/Release/rawnet.node) with the node-gyp that
// ships inside npm, OFFLINE, against this machine's own Node headers (--nodedir=<node prefix>):
// without --nodedir node-gyp tries to download a headers tarball, which CI cannot do
// (spike-netns-vrrp.md section 4).
//
// Fast when up to date: nothing runs if the .node file is newer than every source.
// Fails loudly (exit 1, a message saying what is missing) otherwise.
//
// Usage: node scripts/build-addon.mjs [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'build', 'Release', 'rawnet.node');
const force = process.argv.includes('--force');

function fail(message, hint) {
  console.error(`build-addon: ${message}`);
  if (hint) console.error(`build-addon: hint: ${hint}`);
  process.exit(1);
}

function sources() {
  const files = [join(root, 'binding.gyp'), join(root, 'scripts', 'build-addon.mjs')];
  for (const name of readdirSync(join(root, 'native'))) if (/\.[ch]$/.test(name)) files.push(join(root, 'native', name));
  return files;
}

function upToDate() {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return sources().every((f) => statSync(f).mtimeMs <= built);
}

/** node-gyp's CLI: npm's bundled copy first (no package.json dependency needed). */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(prefix, 'lib', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed in the project: fine, npm's copy is the normal source
  }
  return candidates.find((c) => existsSync(c));
}

if (!force && upToDate()) process.exit(0);

const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found (looked in npm\'s bundled modules next to this node binary)', 'install npm (Debian: apt-get install npm) or node-gyp');
const nodedir = dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  fail(`Node headers not found under ${join(nodedir, 'include', 'node')}`, 'install the Node development headers (Debian: libnode-dev / nodejs headers)');
}

const started = Date.now();
const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (result.error) fail(`could not run node-gyp: ${result.error.message}`);
if (result.status !== 0 || !existsSync(output)) {
  process.stderr.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  fail(`node-gyp rebuild failed (exit ${result.status})`, 'a C compiler and make are needed (Debian: build-essential)');
}
// Warnings are errors for us: print them so they are fixed, but do not fail the build on them.
const warnings = (result.stderr ?? '').split('\n').filter((l) => /warning:/.test(l));
for (const w of warnings) console.error(`build-addon: ${w}`);
console.log(`build-addon: built ${output} in ${Date.now() - started} ms`);
