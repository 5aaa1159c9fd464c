// The ldirectord-compatible verbs through the real command line (bin/directord.js) in child
// processes: exit codes, pid-file behaviour, and the ldirectord bugs we do not copy.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECTORD, httpGet, killIfAlive, runNode, waitFor } from './support/helpers.js';

/** A unique 127.50.x.0/24 for this run. */
const NET = `127.50.${20 + Math.floor(Math.random() * 200)}`;

function goodConfig(dir: string, weight: number): string {
  return `# directord CLI test
logfile="${dir}/directord.log"
checktimeout=1
checkinterval=1
quiescent=yes

virtual=${NET}.1:18080
\treal=${NET}.2:18080 masq ${weight}
\tscheduler=rr
\tprotocol=tcp
\tchecktype=connect
`;
}

describe('directord verbs (ldirectord command line, real child processes)', function () {
  this.timeout(90_000);
  let dir: string;
  let cf: string;
  let pidFile: string;
  let backend: Server;
  const common = (): string[] => ['-p', pidFile, '-s', join(dir, 'control.sock'), '--state-file', join(dir, 'state.json')];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'directord-cli-'));
    cf = join(dir, 'web.cf');
    pidFile = join(dir, 'directord.web.cf.pid');
    writeFileSync(cf, goodConfig(dir, 1));
    backend = createServer((_req, res) => res.end('backend\n'));
    await new Promise<void>((r) => backend.listen(18080, `${NET}.2`, () => r()));
  });
  after(async () => {
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
    killIfAlive(pid);
    await new Promise<void>((r) => backend.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('usage (255 on stdout), unknown config (1), stale pid file (1) and not running (3)', async () => {
    const stalePid = join(dir, 'stale.pid');
    writeFileSync(stalePid, '999999999\n');
    const badCf = join(dir, 'bad.cf');
    writeFileSync(badCf, goodConfig(dir, 1).replace('checktype=connect', 'checktype=connect\n\tscheduler=fastest'));
    const [usage, badVerb, missing, stale, stopped, testGood, testBad] = await Promise.all([
      runNode(DIRECTORD, []),
      runNode(DIRECTORD, [cf, 'bounce']),
      runNode(DIRECTORD, [join(dir, 'nope.cf'), 'status']),
      runNode(DIRECTORD, ['-p', stalePid, cf, 'status']),
      runNode(DIRECTORD, ['-p', pidFile, cf, 'status']),
      runNode(DIRECTORD, ['-t', cf]),
      runNode(DIRECTORD, ['-t', badCf]),
    ]);
    assert.equal(testGood.code, 0, testGood.stderr);
    assert.match(testGood.stdout, /configuration OK/);
    assert.ok(testBad.code === 65 || testBad.code === 78, `configtest exit ${testBad.code} (65 syntax or 78 semantic)`);
    assert.match(testBad.stderr, /bad\.cf:\d+:\d+: DIR_ERR_CONFIG_\w+ .*fastest/);
    assert.equal(usage.code, 255);
    assert.match(usage.stdout, /Usage:/);
    assert.equal(badVerb.code, 255);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Config file .*nope\.cf not found/);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /directord stale pid file .*stale\.pid for /);
    assert.match(stale.stdout, /directord is stopped for /);
    assert.equal(stopped.code, 3);
    assert.equal(stopped.stdout.trim(), `directord is stopped for ${cf}`);
  });

  it('start daemonises and returns once ready; start again is a no-op; status is 0', async () => {
    const start = await runNode(DIRECTORD, [...common(), cf, 'start'], { timeoutMs: 60_000 });
    assert.equal(start.code, 0, start.stderr);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(pid > 0 && pid !== process.pid);
    // Ready means serving: the virtual service answers at once.
    const body = await httpGet(`http://${NET}.1:18080/`);
    assert.equal(body, 'backend\n');
    const [again, status] = await Promise.all([runNode(DIRECTORD, [...common(), cf, 'start']), runNode(DIRECTORD, ['-p', pidFile, cf, 'status'])]);
    assert.equal(again.code, 0);
    assert.match(again.stderr, new RegExp(`already running with pid: ${pid}`));
    assert.equal(Number(readFileSync(pidFile, 'utf8')), pid, 'the pid file is untouched');
    assert.equal(status.code, 0);
    assert.match(status.stderr, new RegExp(`directord for ${cf} is running with pid: ${pid}`));
  });

  it('reload applies a good config; a broken config exits 2, signals nothing and keeps the pid file', async () => {
    writeFileSync(cf, goodConfig(dir, 3));
    const ok = await runNode(DIRECTORD, ['-p', pidFile, cf, 'reload']);
    assert.equal(ok.code, 0, ok.stderr);
    const log = join(dir, 'directord.log');
    await waitFor(() => readFileSync(log, 'utf8').includes('reload applied'), 10_000, 'the reload in the log');

    writeFileSync(cf, goodConfig(dir, 3).replace('scheduler=rr', 'scheduler=rr\n\tbogusdirective=1'));
    const [bad, status] = await Promise.all([runNode(DIRECTORD, ['-p', pidFile, cf, 'reload']), runNode(DIRECTORD, ['-p', pidFile, cf, 'status'])]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, new RegExp(`${cf.replace(/[.]/g, '\\.')}:\\d+:\\d+: DIR_ERR_CONFIG_\\w+`));
    // ldirectord exited 2 *and deleted the pid file* here; we still see the running daemon.
    assert.equal(status.code, 0, status.stderr);
    assert.ok(existsSync(pidFile));
    assert.equal((readFileSync(log, 'utf8').match(/Reloading directord config/g) ?? []).length, 1, 'no second reload was signalled');
    const body = await httpGet(`http://${NET}.1:18080/`);
    assert.equal(body, 'backend\n');
    writeFileSync(cf, goodConfig(dir, 3));
  });

  it('SIGUSR1 reopens the log file (logrotate)', async () => {
    const log = join(dir, 'directord.log');
    renameSync(log, `${log}.1`);
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGUSR1');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes(`reopened log file ${log}`), 5000, 'the reopened log file');
    assert.doesNotMatch(readFileSync(`${log}.1`, 'utf8'), /reopened log file/);
  });

  it('restart stops the old process (waiting for it) and starts a new one', async () => {
    const old = Number(readFileSync(pidFile, 'utf8'));
    const r = await runNode(DIRECTORD, [...common(), cf, 'restart'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.notEqual(pid, old);
    assert.throws(() => process.kill(old, 0), /ESRCH/);
    assert.equal(await httpGet(`http://${NET}.1:18080/`), 'backend\n');
  });

  it('stop waits for the exit and removes the pid file; stop and reload of a stopped instance', async () => {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const stop = await runNode(DIRECTORD, ['-p', pidFile, cf, 'stop'], { timeoutMs: 60_000 });
    assert.equal(stop.code, 0, stop.stderr);
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the daemon has exited when stop returns');
    assert.ok(!existsSync(pidFile));
    assert.match(readFileSync(join(dir, 'directord.log'), 'utf8'), /\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\|web\.cf\|\d+\] directord terminated on signal: SIGTERM/);
    const [stopAgain, reload, status, tryRestart] = await Promise.all([
      runNode(DIRECTORD, ['-p', pidFile, cf, 'stop']),
      runNode(DIRECTORD, ['-p', pidFile, cf, 'reload']),
      runNode(DIRECTORD, ['-p', pidFile, cf, 'status']),
      runNode(DIRECTORD, [...common(), cf, 'try-restart']),
    ]);
    assert.equal(stopAgain.code, 0);
    assert.equal(tryRestart.code, 0);
    assert.ok(!existsSync(pidFile), 'try-restart of a stopped instance starts nothing');
    assert.equal(reload.code, 1);
    assert.match(reload.stdout, /directord is stopped for /);
    assert.equal(status.code, 3);
  });

  it('start with a broken config exits 2 with file:line:column and starts nothing', async () => {
    writeFileSync(cf, goodConfig(dir, 1).replace('checkinterval=1', 'checkinterval=soon'));
    const r = await runNode(DIRECTORD, [...common(), cf, 'start']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /web\.cf:4:\d+: DIR_ERR_CONFIG_/);
    assert.ok(!existsSync(pidFile));
  });
});
