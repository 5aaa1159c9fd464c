import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configName, parseArgs, resolveConfigPath } from '../../../src/daemon/args.js';
import { instanceState, removePidFile, writePidFile } from '../../../src/daemon/pidfile.js';
import { DirectorError } from '../../../src/core/errors.js';

describe('daemon/command-line: ldirectord-compatible arguments', () => {
  it('one positional is the command, two are config and command (extra ignored)', () => {
    assert.deepEqual([parseArgs(['status']).verb, parseArgs(['status']).config], ['status', undefined]);
    const two = parseArgs(['-d', 'web.cf', 'reload', 'ignored']);
    assert.equal(two.verb, 'reload');
    assert.equal(two.config, 'web.cf');
    assert.equal(two.debug, true);
  });

  it('rejects unknown commands, missing commands and unknown options (usage)', () => {
    assert.throws(() => parseArgs([]), /no command/);
    assert.throws(() => parseArgs(['web.cf', 'bounce']), /unknown command "bounce"/);
    assert.throws(() => parseArgs(['--bogus', 'start']), /unknown option --bogus/);
    assert.throws(() => parseArgs(['-f']), /needs a value/);
  });

  it('options must come before positionals (require_order)', () => {
    // "-d" after the command is taken as a positional, which makes it the (bad) command.
    assert.throws(() => parseArgs(['start', '-d']), /unknown command "-d"/);
  });

  it('parses -f, -t and the path overrides', () => {
    const f = parseArgs(['-p', '/tmp/x.pid', '-s', '/tmp/x.sock', '--http=127.0.0.1:9', '--state-file', '/tmp/s', '-f', '/etc/x.cf']);
    assert.equal(f.mode, 'foreground');
    assert.equal(f.config, '/etc/x.cf');
    assert.equal(f.pidFile, '/tmp/x.pid');
    assert.deepEqual(f.overrides, { controlSocket: '/tmp/x.sock', httpListen: '127.0.0.1:9', stateFile: '/tmp/s' });
    const t = parseArgs(['--json', '-t', 'x.toml']);
    assert.equal(t.mode, 'configtest');
    assert.equal(t.json, true);
    assert.throws(() => parseArgs(['-t', 'a', '-f', 'b']), /exclude each other/);
  });

  it('resolves bare names in /etc/directord, /etc/ha.d, /etc/ha.d/conf, then the cwd', () => {
    const have = (set: string[]) => (p: string) => set.includes(p);
    assert.equal(resolveConfigPath('web.cf', have(['/etc/ha.d/web.cf', '/etc/directord/web.cf'])), '/etc/directord/web.cf');
    assert.equal(resolveConfigPath('web.cf', have(['/etc/ha.d/web.cf'])), '/etc/ha.d/web.cf');
    assert.equal(resolveConfigPath('web.cf', have(['/etc/ha.d/conf/web.cf'])), '/etc/ha.d/conf/web.cf');
    assert.equal(resolveConfigPath('web.cf', have([join(process.cwd(), 'web.cf')])), join(process.cwd(), 'web.cf'));
    assert.throws(() => resolveConfigPath('/abs/missing.cf', have([])), (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_DAEMON_CONFIG_NOT_FOUND' && e.exitStatus === 1);
    assert.equal(resolveConfigPath(undefined, have(['/etc/ha.d/ldirectord.cf'])), '/etc/ha.d/ldirectord.cf');
    assert.equal(configName('/etc/ha.d/web.cf'), 'web.cf');
    assert.equal(configName(undefined), 'directord');
  });
});

describe('daemon/pidfile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'directord-pid-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('no file is stopped; a dead or foreign pid is stale', () => {
    const path = join(dir, 'a.pid');
    assert.deepEqual(instanceState(path), { state: 'stopped' });
    writeFileSync(path, '999999999\n');
    assert.equal(instanceState(path).state, 'stale');
    // pid 1 is alive but is not directord: stale (ldirectord's /proc/<pid>/cmdline test).
    writeFileSync(path, '1\n');
    assert.deepEqual(instanceState(path), { state: 'stale', pid: 1 });
    writeFileSync(path, 'garbage');
    assert.equal(instanceState(path).state, 'stale');
  });

  it('writes our pid, and removes the file only while it holds our pid', () => {
    const path = join(dir, 'sub', 'b.pid');
    writePidFile(path, 4242);
    assert.equal(removePidFile(path, 4343), false);
    assert.equal(removePidFile(path, 4242), true);
    assert.deepEqual(instanceState(path), { state: 'stopped' });
  });
});
