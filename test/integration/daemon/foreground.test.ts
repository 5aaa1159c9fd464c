// One real daemon (`directord -f`, as systemd runs it) on loopback, driven from outside:
// sd_notify on a real datagram socket, directorctl over the real control socket, reloads under
// wrk load through the embedded engine, a refused reload, and the SIGTERM drain.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECTORCTL, DIRECTORD, httpGet, runNode, startNode, startNotifySocket, waitFor, type NotifySocket, type Running } from './support/helpers.js';
import { skipBecause } from '../../support/skip.js';

const NET = `127.50.${20 + Math.floor(Math.random() * 200)}`;
const VIP = `${NET}.1:18090`;

/** The test config; a weight of -1 leaves that real out (a reload then removes it). */
function config(weights: readonly [number, number], extra = ''): string {
  const real = (n: number, w: number): string => (w < 0 ? '' : `\treal=${NET}.${n}:18090 masq ${w}\n`);
  return `# directord foreground test
checktimeout=1
checkinterval=1
quiescent=yes
${extra}
virtual=${VIP}
${real(2, weights[0])}${real(3, weights[1])}\tscheduler=wrr
\tprotocol=tcp
\tchecktype=connect
`;
}

/** Can a TCP connection to host:port be opened? */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('directord -f: the daemon under systemd-like supervision', function () {
  this.timeout(60_000);
  let dir: string;
  let cf: string;
  let sock: NotifySocket;
  let daemon: Running;
  const backends: Server[] = [];
  const slowRequests: IncomingMessage[] = [];
  const notifications = (): string[] => sock.messages.map((m) => m.text).filter((t) => !t.startsWith('BARRIER'));

  before(async function () {
    if (!spawnSync('systemd-notify', ['--version']).stdout) skipBecause(this, 'systemd-notify(1) is not installed');
    dir = mkdtempSync(join(tmpdir(), 'directord-fg-'));
    cf = join(dir, 'fg.cf');
    writeFileSync(cf, config([1, 1]));
    for (const host of [`${NET}.2`, `${NET}.3`]) {
      const server = createServer((req: IncomingMessage, res: ServerResponse) => {
        if (req.url === '/slow') {
          slowRequests.push(req);
          setTimeout(() => res.end('slow done\n'), 1500);
        } else res.end(`${host}\n`);
      });
      await new Promise<void>((r) => server.listen(18090, host, () => r()));
      backends.push(server);
    }
    sock = await startNotifySocket(join(dir, 'notify.sock'));
    daemon = startNode(DIRECTORD, ['-p', join(dir, 'fg.pid'), '-s', join(dir, 'control.sock'), '--state-file', join(dir, 'state.json'), '--drain-deadline', '8000', '-f', cf], {
      NOTIFY_SOCKET: sock.path,
      WATCHDOG_USEC: '1000000',
      WATCHDOG_PID: '',
    });
    await waitFor(() => notifications().some((t) => t.includes('READY=1')), 30_000, 'READY=1 from the daemon');
  });

  after(async () => {
    if (daemon?.child.exitCode === null) daemon.child.kill('SIGKILL');
    sock?.close();
    await Promise.all(backends.map((b) => new Promise<void>((r) => b.close(() => r()))));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tells systemd READY=1 with MAINPID and a STATUS, then pings the watchdog', async () => {
    const ready = notifications().find((t) => t.includes('READY=1')) ?? '';
    assert.ok(ready.split('\n').includes(`MAINPID=${daemon.child.pid}`), ready);
    assert.match(ready, /STATUS=running: 1 virtual service\(s\), engine embedded/);
    await waitFor(() => notifications().some((t) => t.includes('WATCHDOG=1')), 5000, 'a WATCHDOG=1 ping (WatchdogSec=1s → every 0.5 s)');
  });

  it('answers directorctl -L -n over the control socket with the table', async () => {
    await waitFor(async () => (await canConnect(`${NET}.1`, 18090)), 5000, 'the virtual service');
    const r = await runNode(DIRECTORCTL, ['-s', join(dir, 'control.sock'), '-L', '-n']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`TCP  ${VIP.replace(/\./g, '\\.')} wrr`));
    assert.match(r.stdout, new RegExp(`-> ${NET.replace(/\./g, '\\.')}\\.2:18090 +\\w+ +1 `));
    assert.match(r.stdout, new RegExp(`-> ${NET.replace(/\./g, '\\.')}\\.3:18090 +\\w+ +1 `));
  });

  it('reloads under wrk load (SIGHUP x4: weights, a real removed and re-added) without a failed request', async function () {
    if (spawnSync('wrk', ['--version']).error) skipBecause(this, 'wrk is not installed');
    const wrk = spawn('wrk', ['-t1', '-c16', '-d5s', '--latency', `http://${VIP}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    wrk.stdout.on('data', (c: Buffer) => (out += c.toString()));
    wrk.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const done = new Promise<number | null>((r) => wrk.on('close', (code) => r(code)));
    // Weight changes, a real removed (its connections finish), and added back.
    const weights: [number, number][] = [[2, 1], [1, -1], [1, 3], [1, 1]];
    const reloadMs: number[] = [];
    for (const [i, w] of weights.entries()) {
      await new Promise((r) => setTimeout(r, 700)); // spread the reloads over the 5 s run
      writeFileSync(cf, config(w));
      const before = notifications().filter((t) => t.includes('RELOADING=1')).length;
      const sent = Date.now();
      daemon.child.kill('SIGHUP');
      await waitFor(() => daemon.output().split('reload applied').length - 1 === i + 1, 5000, `reload ${i + 1} applied`);
      reloadMs.push(Date.now() - sent);
      assert.equal(notifications().filter((t) => t.includes('RELOADING=1')).length, before + 1);
    }
    assert.equal(wrk.exitCode, null, 'every reload happened while wrk was still running');
    const code = await done;
    assert.equal(code, 0, out);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
    assert.ok(requests > 500, `wrk made ${requests} requests:\n${out}`);
    assert.doesNotMatch(out, /Non-2xx or 3xx responses/, out);
    assert.doesNotMatch(out, /Socket errors/, out);
    console.log(`      wrk through the embedded engine during 4 reloads: ${requests} requests, 0 errors, ${/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]} req/s; SIGHUP to reload applied ${Math.min(...reloadMs)}-${Math.max(...reloadMs)} ms`);
    const reloading = notifications().find((t) => t.includes('RELOADING=1')) ?? '';
    assert.match(reloading, /MONOTONIC_USEC=\d+/);
    // The last weights (1, 1) are in effect.
    const table = await runNode(DIRECTORCTL, ['-s', join(dir, 'control.sock'), '-L', '-n']);
    assert.match(table.stdout, new RegExp(`${NET.replace(/\./g, '\\.')}\\.2:18090 +\\w+ +1 `));
  });

  it('refuses a broken reload, says why (file:line:col + code) and keeps serving', async () => {
    writeFileSync(cf, config([1, 1]).replace('scheduler=wrr', 'scheduler=wrr\n\tchecktype=sometimes'));
    daemon.child.kill('SIGHUP');
    await waitFor(() => daemon.output().includes('reload refused ('), 5000, 'the refusal in the log');
    const log = daemon.output();
    assert.match(log, new RegExp(`reload refused: ${cf.replace(/[.]/g, '\\.')}:\\d+:\\d+: DIR_ERR_CONFIG_\\w+ .*checktype`));
    assert.match(log, /the running configuration is unchanged/);
    assert.match(await httpGet(`http://${VIP}/`), new RegExp(`^${NET.replace(/\./g, '\\.')}\\.[23]\\n$`));
    // directorctl reload reports the same refusal to the operator.
    const r = await runNode(DIRECTORCTL, ['-s', join(dir, 'control.sock'), 'reload']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /DIR_ERR_CONFIG_\w+/);
    assert.match(daemon.output(), /audit: reload by uid=0/);
    const status = await runNode(DIRECTORCTL, ['-s', join(dir, 'control.sock'), 'status', '--json']);
    assert.match(status.stdout, /"failed":\s*[1-9]/);
    writeFileSync(cf, config([1, 1]));
  });

  it('SIGTERM: STOPPING=1, no new connections, the in-flight request finishes, exit 0', async () => {
    const inflight = httpGet(`http://${VIP}/slow`, 10_000);
    await waitFor(() => slowRequests.length > 0, 5000, 'the slow request to reach a backend');
    daemon.child.kill('SIGTERM');
    await waitFor(() => notifications().some((t) => t.includes('STOPPING=1')), 5000, 'STOPPING=1');
    await waitFor(async () => !(await canConnect(`${NET}.1`, 18090)), 5000, 'the virtual service to stop accepting');
    assert.equal(await inflight, 'slow done\n');
    assert.equal(await daemon.exited, 0);
    assert.match(daemon.output(), /directord terminated on signal: SIGTERM/);
  });
});
