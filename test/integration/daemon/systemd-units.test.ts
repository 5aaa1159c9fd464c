import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/helpers.js';
import { skipBecause } from '../../support/skip.js';

/** Runs systemd-analyze verify on unit files after pointing /usr/bin/directord at this tree. */
function verify(dir: string, units: Record<string, string>): { status: number | null; stderr: string } {
  const paths: string[] = [];
  for (const [name, text] of Object.entries(units)) {
    const p = join(dir, name);
    writeFileSync(p, text.replaceAll('/usr/bin/directord', `${ROOT}bin/directord.js`));
    paths.push(p);
  }
  const r = spawnSync('systemd-analyze', ['verify', ...paths], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('systemd units', function () {
  this.timeout(30_000);
  let dir: string;
  before(function () {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) skipBecause(this, 'systemd-analyze is not installed');
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'directord-units-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const unit = (name: string): string => readFileSync(`${ROOT}systemd/${name}`, 'utf8');

  it('directord.service and directord@.service pass systemd-analyze verify without a warning', () => {
    const r = verify(dir, { 'directord.service': unit('directord.service'), 'directord@web.cf.service': unit('directord@.service') });
    assert.equal(r.stderr.trim(), '');
    assert.equal(r.status, 0);
  });

  it('the check is not blind: a unit with a bad key is reported', () => {
    const broken = unit('directord.service').replace('KillMode=mixed', 'KillMode=everything');
    const r = verify(dir, { 'directord.service': broken });
    assert.match(r.stderr, /kill mode/i);
  });

  it('declares the notify protocol the daemon speaks', () => {
    const text = unit('directord.service');
    for (const line of ['Type=notify', 'NotifyAccess=all', 'ExecReload=/bin/kill -HUP $MAINPID', 'KillMode=mixed', 'Restart=on-failure', 'RuntimeDirectory=directord', 'StateDirectory=directord']) {
      assert.ok(text.split('\n').includes(line), line);
    }
    assert.match(text, /^WatchdogSec=\d+s$/m);
    assert.match(text, /^CapabilityBoundingSet=.*CAP_NET_ADMIN.*CAP_NET_RAW.*CAP_NET_BIND_SERVICE/m);
    assert.match(text, /^LimitNOFILE=\d{6,}$/m);
  });

  it('the tmpfiles.d file creates the runtime, state and log directories', function () {
    if (spawnSync('systemd-tmpfiles', ['--help']).status !== 0) skipBecause(this, 'systemd-tmpfiles is not installed');
    const root = join(dir, 'root');
    const r = spawnSync('systemd-tmpfiles', ['--create', `--root=${root}`, `${ROOT}systemd/directord.tmpfiles.conf`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(statSync(join(root, 'run/directord')).mode & 0o777, 0o755);
    assert.equal(statSync(join(root, 'var/lib/directord')).mode & 0o777, 0o750);
    assert.ok(statSync(join(root, 'var/log/directord')).isDirectory());
  });
});
