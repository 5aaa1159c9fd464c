/**
 * directorctl against a real control socket served with a fake of the daemon's API: output,
 * exit statuses, the requests that reach the daemon. In-process through runCli, plus the real
 * binary for stdin, "daemon not running" and (as root) a non-root user refused by the socket mode.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditRecord, IpvsCommand } from '../../../src/control/api.js';
import { connectError } from '../../../src/control/client.js';
import { createControlServer } from '../../../src/control/server.js';
import type { ControlServer } from '../../../src/control/server.js';
import { EXIT } from '../../../src/core/exit-status.js';
import { nullLogger } from '../../../src/core/logger.js';
import { runCli } from '../../../src/cli/run.js';
import type { CliIo } from '../../../src/cli/run.js';
import { parseNameTables } from '../../../src/cli/names.js';
import { FakeControlApi, STARTED_AT, sampleStatus } from '../../unit/control/fake-api.js';
import { tempDir, waitFor } from '../control/helpers.js';
import { skipBecause } from '../../support/skip.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const binary = join(repoRoot, 'bin', 'directorctl.js');

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

function spawnAsNobody(argv: readonly string[]): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...argv], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: '/tmp' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

function spawnCli(args: readonly string[], options: { stdin?: string; asNobody?: boolean } = {}): Promise<Captured> {
  const [cmd, argv] = options.asNobody
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, binary, ...args]]
    : [process.execPath, [binary, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, argv as string[], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: '/tmp' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

describe('directorctl (CLI against a control socket)', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  let socketPath: string;
  let api: FakeControlApi;
  let audits: AuditRecord[];
  let server: ControlServer;

  const names = parseNameTables('192.0.2.1 www.example\n', 'http 80/tcp\n');

  function io(stdin = '', extra: Partial<CliIo> = {}): CliIo & { out: string; err: string } {
    const captured: CliIo & { out: string; err: string } = {
      out: '',
      err: '',
      stdout: { write: (t: string): void => void (captured.out += t) },
      stderr: { write: (t: string): void => void (captured.err += t) },
      readStdin: async () => stdin,
      env: {},
      now: () => STARTED_AT + 60_000,
      names: () => names,
      isLocal: () => () => false,
      ...extra,
    };
    return captured;
  }

  async function run(args: readonly string[], stdin = '', extra: Partial<CliIo> = {}): Promise<Captured> {
    const c = io(stdin, extra);
    const code = await runCli(['-s', socketPath, ...args], c);
    return { code, stdout: c.out, stderr: c.err };
  }

  beforeEach(async () => {
    tmp = tempDir('directorctl-');
    socketPath = join(tmp.dir, 'directord.sock');
    api = new FakeControlApi();
    audits = [];
    server = createControlServer({ socketPath, api, logger: nullLogger, audit: (r) => audits.push(r) });
    await server.start();
  });

  afterEach(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('-L -n prints the ipvsadm table of the engine', async () => {
    const r = await run(['-L', '-n']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(
      r.stdout,
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        'TCP  192.0.2.1:80 wlc',
        '  -> 192.0.2.10:80                Masq    3      12         40',
        '  -> 192.0.2.11:80                Masq    0      0          2',
        'UDP  [2001:db8::1]:53 rr ops',
        '  -> [2001:db8::10]:53            Route   1      0          4',
        '',
      ].join('\n'),
    );
  });

  it('-Ln, -l --numeric and --list -n are the same listing; without -n names come from local tables', async () => {
    const a = await run(['-Ln']);
    const b = await run(['-l', '--numeric']);
    const c = await run(['--list', '-n']);
    assert.equal(a.stdout, b.stdout);
    assert.equal(a.stdout, c.stdout);
    const named = await run(['-L']);
    assert.match(named.stdout, /^TCP {2}www\.example:http wlc$/m);
  });

  it('--stats, --rate, -c, --timeout, -t filter', async () => {
    const stats = await run(['-L', '-n', '--stats']);
    // Expected lines written from ipvsadm's printf formats ("%-33s" + "%9llu" x4 + " " + last).
    assert.ok(stats.stdout.split('\n').includes('TCP  192.0.2.1:80                     1510    20100    18090  2010000 30150000'), stats.stdout);
    const rate = await run(['-L', '-n', '--rate']);
    assert.ok(rate.stdout.split('\n').includes('  -> 192.0.2.10:80                       5       80       70     9000 120000'), rate.stdout);
    const conns = await run(['-lnc']);
    assert.match(conns.stdout, /^TCP 14:59 {2}ESTABLISHED 198\.51\.100\.7:40312 192\.0\.2\.1:80 {7}192\.0\.2\.10:80$/m);
    const timeout = await run(['-L', '--timeout']);
    assert.equal(timeout.stdout, 'Timeout (tcp tcpfin udp): 900 120 300\n');
    const one = await run(['-L', '-n', '-t', '192.0.2.1:80']);
    assert.doesNotMatch(one.stdout, /UDP/);
    assert.match(one.stdout, /TCP {2}192\.0\.2\.1:80 wlc/);
    const missing = await run(['-L', '-n', '-t', '192.0.2.99:80']);
    assert.equal(missing.code, EXIT.FAILURE);
    assert.match(missing.stderr, /DIR_ERR_CONTROL_NO_SUCH_SERVICE no virtual service tcp 192\.0\.2\.99:80/);
  });

  it('--json listings print the engine data', async () => {
    const r = await run(['--json', '-L', '-n']);
    const parsed = JSON.parse(r.stdout) as { services: { key: string }[] };
    assert.deepEqual(
      parsed.services.map((s) => s.key),
      ['tcp:192.0.2.1:80', 'udp:[2001:db8::1]:53'],
    );
  });

  it('-S -n output restores through -R to the same commands', async () => {
    const saved = await run(['-S', '-n']);
    assert.equal(saved.code, EXIT.OK);
    assert.equal(
      saved.stdout,
      '-A -t 192.0.2.1:80 -s wlc\n-a -t 192.0.2.1:80 -r 192.0.2.10:80 -m -w 3\n-a -t 192.0.2.1:80 -r 192.0.2.11:80 -m -w 0\n-A -u [2001:db8::1]:53 -s rr --ops\n-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -g -w 1\n',
    );
    const restored = await run(['-R'], `# saved table\n${saved.stdout}\n`);
    assert.equal(restored.code, EXIT.OK, restored.stderr);
    const sent = api.calls.find((c) => c.method === 'ipvsadm')?.args[0] as IpvsCommand[];
    assert.deepEqual(sent, [
      { op: 'add-service', service: { protocol: 'tcp', address: '192.0.2.1', port: 80 }, options: { scheduler: 'wlc' } },
      { op: 'add-real', service: { protocol: 'tcp', address: '192.0.2.1', port: 80 }, real: { address: '192.0.2.10', port: 80 }, options: { forward: 'masq', weight: 3 } },
      { op: 'add-real', service: { protocol: 'tcp', address: '192.0.2.1', port: 80 }, real: { address: '192.0.2.11', port: 80 }, options: { forward: 'masq', weight: 0 } },
      { op: 'add-service', service: { protocol: 'udp', address: '2001:db8::1', port: 53 }, options: { scheduler: 'rr', ops: true } },
      { op: 'add-real', service: { protocol: 'udp', address: '2001:db8::1', port: 53 }, real: { address: '2001:db8::10', port: 53 }, options: { forward: 'gate', weight: 1 } },
    ]);
    assert.equal(audits.length, 1);
    assert.equal(audits[0]?.method, 'ipvsadm');
  });

  it('-R names the bad input line and sends nothing (exit 65)', async () => {
    const r = await run(['-R'], '-A -t 192.0.2.1:80 -s wlc\n-a -t 192.0.2.1:80 -r 192.0.2.10:80 -w many\n');
    assert.equal(r.code, EXIT.CONFIG_SYNTAX);
    assert.match(r.stderr, /DIR_ERR_CLI_RESTORE_SYNTAX restore input line 2: weight must be an integer/);
    assert.equal(api.calls.length, 0);
  });

  it('-A/-a are sent as runtime overrides with ipvsadm defaults', async () => {
    const r = await run(['-A', '-t', '192.0.2.5:http', '-s', 'rr', '-p', '60', '-M', '255.255.255.0']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(r.stdout, '', 'ipvsadm is silent on success');
    const r2 = await run(['-a', '-t', '192.0.2.5:80', '-r', '192.0.2.50']);
    assert.equal(r2.code, EXIT.OK, r2.stderr);
    const sent = api.calls.filter((c) => c.method === 'ipvsadm').map((c) => (c.args[0] as IpvsCommand[])[0]);
    assert.deepEqual(sent, [
      { op: 'add-service', service: { protocol: 'tcp', address: '192.0.2.5', port: 80 }, options: { scheduler: 'rr', persistence: { timeoutMs: 60_000, netmaskPrefixLength: 24 } } },
      { op: 'add-real', service: { protocol: 'tcp', address: '192.0.2.5', port: 80 }, real: { address: '192.0.2.50', port: 80 }, options: { forward: 'gate', weight: 1 } },
    ]);
  });

  it('a refused edit prints the daemon error and hint (the swapped -t/-r case)', async () => {
    const r = await run(['-D', '-t', '10.200.8.100:25']);
    assert.equal(r.code, EXIT.FAILURE);
    assert.match(r.stderr, /DIR_ERR_CONTROL_NO_SUCH_SERVICE no virtual service tcp 10\.200\.8\.100:25/);
    assert.match(r.stderr, /-t\/-u\/-f and -r may be swapped/);
  });

  it('status: VRRP role per instance, services, reals with health, overrides and last check', async () => {
    const r = await run(['status']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /^directord up 1m, running, role MASTER, reloads 2 ok\/1 failed$/m);
    assert.match(r.stdout, /^ {2}VI_1 +MASTER +51 +eth0 +150 +- +3$/m);
    assert.match(r.stdout, /^ {2}VI_2 +BACKUP +52 +eth0 +90 \(base 100\) +192\.0\.2\.252 +1$/m);
    assert.match(r.stdout, /^ {2}tcp:192\.0\.2\.1:80 {2}wlc, 1\/2 up$/m);
    assert.match(r.stdout, /^ {4}192\.0\.2\.10:80 +Masq +up +3\/3 +- +ok: HTTP 200 in 3 ms \(10s ago\)$/m);
    assert.match(r.stdout, /^ {4}192\.0\.2\.11:80 +Masq +down +0\/1 +disabled by control\(uid=0 user=root pid=4242\) +FAILED: timed out after 5000 ms \(5s ago\)$/m);
    assert.match(r.stdout, /^ {2}fwm:1 {2}rr, QUORUM DOWN, FALLBACK ACTIVE, 0\/0 up$/m);
    const json = await run(['status', '--json']);
    assert.deepEqual(JSON.parse(json.stdout), sampleStatus());
  });

  it('enable, disable, weight, failover, reload, check reach the daemon and are audited', async () => {
    assert.equal((await run(['disable', '192.0.2.10:80', '--virtual', 'tcp:192.0.2.1:80'])).stdout, 'disable 192.0.2.10:80\n');
    assert.equal((await run(['enable', '192.0.2.10:80'])).stdout, 'enable 192.0.2.10:80\n');
    assert.equal((await run(['weight', '192.0.2.10:80', '7'])).stdout, 'setWeight 192.0.2.10:80\n');
    assert.equal((await run(['failover', 'VI_2'])).stdout, 'gave up mastership of VI_2\n');
    assert.equal((await run(['reload'])).stdout, 'reloaded: 1 virtual changed\n');
    const ok = await run(['check', '192.0.2.10:80']);
    assert.equal(ok.code, EXIT.OK);
    assert.match(ok.stdout, /^tcp:192\.0\.2\.1:80 {2}192\.0\.2\.10:80 {2}ok {6}2ms {3}HTTP 200 in 2 ms$/m);
    const failed = await run(['check', '192.0.2.11:80']);
    assert.equal(failed.code, EXIT.FAILURE);
    assert.deepEqual(
      audits.map((a) => a.method),
      ['disable', 'enable', 'setWeight', 'failover', 'reload', 'checkNow', 'checkNow'],
    );
    assert.deepEqual(audits[0]?.params, { selector: { virtualId: 'tcp:192.0.2.1:80', realKey: '192.0.2.10:80' } });
    assert.deepEqual(audits[2]?.params, { selector: { realKey: '192.0.2.10:80' }, weight: 7 });
  });

  it('usage errors exit 64 without contacting the daemon', async () => {
    for (const args of [['weight', '192.0.2.10:80'], ['weight', '192.0.2.10:80', '70000'], ['enable'], ['drain', '192.0.2.10:80', '--deadline', 'soon'], ['-A', '-t', '192.0.2.1:80', '-s', 'fastest']]) {
      const r = await run(args);
      assert.equal(r.code, EXIT.USAGE, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.equal((await run(['frobnicate'])).code, EXIT.USAGE);
    assert.equal(api.calls.length, 0);
  });

  it('an error from the daemon keeps its code and exit status, also as --json', async () => {
    const r = await run(['disable', '203.0.113.99:80']);
    assert.equal(r.code, EXIT.FAILURE);
    assert.match(r.stderr, /^directorctl: DIR_ERR_CONTROL_NO_SUCH_REAL no real server 203\.0\.113\.99:80\n {2}hint: /);
    const j = await run(['--json', 'disable', '203.0.113.99:80']);
    assert.equal((JSON.parse(j.stdout) as { error: { code: string } }).error.code, 'DIR_ERR_CONTROL_NO_SUCH_REAL');
  });

  it('drain shows live progress until connections reach zero', async () => {
    const control = api.controlNextDrain();
    const c = io();
    const done = runCli(['-s', socketPath, 'drain', '192.0.2.10:80', '--deadline', '45s'], c);
    await control.started;
    control.step(5);
    control.step(2);
    control.step(0);
    await waitFor(() => c.err.split('\n').length > 3, 3000, 'three progress lines');
    control.finish('drained');
    assert.equal(await done, EXIT.OK);
    const progress = c.err.trim().split('\n');
    assert.deepEqual(
      progress.map((l) => /: (\d+) connections? /.exec(l)?.[1]),
      ['5', '2', '0'],
    );
    assert.match(progress[0] as string, /^draining 192\.0\.2\.10:80 in tcp:192\.0\.2\.1:80: 5 connections \(5 active, 0 inactive, 0 persistent\), 45s to deadline$/);
    assert.equal(c.out, 'drained 192.0.2.10:80 in tcp:192.0.2.1:80 after 1.234s\n');
    assert.deepEqual(audits[0]?.params, { selector: { realKey: '192.0.2.10:80' }, options: { deadlineMs: 45_000, then: 'remove' } });
  });

  it('drain that hits its deadline exits 75; --json streams progress objects', async () => {
    const control = api.controlNextDrain();
    const c = io();
    const done = runCli(['-s', socketPath, '--json', 'drain', '192.0.2.10:80', '--keep'], c);
    await control.started;
    control.step(3);
    await waitFor(() => c.out.includes('progress'), 3000, 'progress line');
    control.finish('deadline');
    assert.equal(await done, EXIT.TEMPFAIL);
    const objects = c.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal((objects[0]?.progress as { activeConns: number }).activeConns, 3);
    assert.equal((objects[1]?.result as { outcome: string }).outcome, 'deadline');
  });

  it('tcpvsadm --list shows L7 services with their rules in order', async () => {
    const r = await run(['tcpvsadm', '--list']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('tcp:192.0.2.1:80'));
    assert.ok(at > 0, r.stdout);
    assert.match(lines[at + 3] as string, /^ {2}-> rule \/images\/\.\* +192\.0\.2\.10:80$/);
    assert.match(lines[at + 4] as string, /^ {2}-> rule \.\* +192\.0\.2\.11:80$/);
    assert.doesNotMatch(r.stdout, /2001:db8/, 'services without rules are not L7 services');
  });

  it('configtest runs offline with the config checker, defaulting to the TOML then ldirectord.cf', async () => {
    const seen: string[] = [];
    const configTest = async (path: string, options: { json: boolean }): Promise<{ exitCode: number; output: string }> => {
      seen.push(`${path} ${options.json}`);
      return { exitCode: 0, output: 'configuration OK' };
    };
    const r = await runCli(['configtest'], io('', { configTest, fileExists: (p) => p === '/etc/ha.d/ldirectord.cf' }));
    assert.equal(r, EXIT.OK);
    const c = io('', { configTest, fileExists: () => false });
    assert.equal(await runCli(['configtest', '-f', '/srv/lb.cf', '--json'], c), EXIT.OK);
    assert.deepEqual(seen, ['/etc/ha.d/ldirectord.cf false', '/srv/lb.cf true']);
    const none = io('', { configTest, fileExists: () => false });
    assert.equal(await runCli(['configtest'], none), EXIT.NO_INPUT);
    assert.match(none.err, /DIR_ERR_CLI_NO_CONFIG no config file found \(tried \/etc\/directord\/director\.toml, \/etc\/ha\.d\/ldirectord\.cf\)/);
  });

  it('the binary reads -R from stdin', async () => {
    const r = await spawnCli(['-s', socketPath, '-R'], { stdin: '-A -f 7 -s rr\n-a -f 7 -r 192.0.2.70 -m -w 2\n' });
    assert.equal(r.code, 0, r.stderr);
    const sent = api.calls.find((c) => c.method === 'ipvsadm')?.args[0] as IpvsCommand[];
    assert.deepEqual(sent[1], { op: 'add-real', service: { protocol: 'fwm', fwmark: 7, family: 4 }, real: { address: '192.0.2.70', port: 0 }, options: { forward: 'masq', weight: 2 } });
  });

  it('the binary runs configtest offline through the config checker', async () => {
    await server.close(); // no daemon needed
    const missing = join(tmp.dir, 'missing.cf');
    const r = await spawnCli(['configtest', '-f', missing]);
    assert.notEqual(r.code, 0);
    assert.ok((r.stdout + r.stderr).includes(missing), r.stdout + r.stderr);
  });

  it('the binary exits 69 with a clear message when the daemon is not running', async () => {
    await server.close();
    const r = await spawnCli(['-s', socketPath, 'status']);
    assert.equal(r.code, EXIT.UNAVAILABLE);
    assert.match(r.stderr, /DIR_ERR_CONTROL_DAEMON_UNAVAILABLE cannot reach directord at .*directord\.sock: the socket does not exist/);
    assert.match(r.stderr, /hint: is directord running\?/);
  });

  it('a non-root user is refused by the socket mode: EACCES → exit 77 (root only)', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root to switch to nobody and to own the socket');
    // A traversable directory so the refusal comes from the socket's own mode (0600), not the path.
    const openDir = join(tmp.dir, 'open');
    mkdirSync(openDir);
    chmodSync(tmp.dir, 0o755);
    chmodSync(openDir, 0o755);
    const path = join(openDir, 'directord.sock');
    const rootOnly = createControlServer({ socketPath: path, api, logger: nullLogger });
    await rootOnly.start();
    try {
      // The kernel's answer to nobody, independent of whether nobody can read this checkout.
      const probe = await spawnAsNobody([
        process.execPath,
        '-e',
        "const s = require('net').createConnection(process.argv[1]); s.on('connect', () => { console.log('CONNECTED'); process.exit(0); }); s.on('error', (e) => { console.log(e.code); process.exit(3); });",
        path,
      ]);
      assert.equal(probe.stdout.trim(), 'EACCES', probe.stderr);
      // The whole directorctl path, when nobody can read the checkout (CI may keep it under /root).
      const readable = await spawnAsNobody([process.execPath, binary, '--help']);
      if (readable.code === 0) {
        const r = await spawnCli(['-s', path, 'status'], { asNobody: true });
        assert.equal(r.code, EXIT.NO_PERMISSION, `stdout=${r.stdout} stderr=${r.stderr}`);
        assert.match(r.stderr, /DIR_ERR_CONTROL_PERMISSION_DENIED permission denied on the control socket/);
        assert.match(r.stderr, /run directorctl as root/);
      } else {
        const mapped = connectError(path, Object.assign(new Error('connect EACCES'), { code: 'EACCES' }));
        assert.equal(mapped.exitStatus, EXIT.NO_PERMISSION);
      }
      // Root on the same socket is served.
      const asRoot = await spawnCli(['-s', path, 'status', '--json']);
      assert.equal(asRoot.code, 0, asRoot.stderr);
      assert.equal(api.calls.length, 0);
    } finally {
      await rootOnly.close();
    }
  });
});
