// ipvsadm-style runtime edits through the real daemon (bin/directord.js start) and the real
// directorctl binary on loopback: -A/-a add a service and a real that carry traffic to a real
// HTTP server, -L -n shows them as ipvsadm would, -e -w 0 quiesces, -S round-trips through
// -C + -R, -d and -D remove them, and every edit is audited in the log.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECTORCTL, DIRECTORD, httpGet, killIfAlive, runNode, waitFor, type RunResult } from './support/helpers.js';

/** A unique 127.70.x.0/24 for this run. */
const NET = `127.70.${10 + Math.floor(Math.random() * 240)}`;
const CFG_PORT = 18091;
const RT_PORT = 18092;

/** directorctl with stdin (for -R), bounded. */
function ctl(socket: string, args: readonly string[], stdin = ''): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DIRECTORCTL, ...args], { env: { ...process.env, DIRECTORCTL_SOCKET: socket }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`directorctl ${args.join(' ')} did not finish\n${stdout}\n${stderr}`));
    }, 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

describe('runtime edits: directorctl ipvsadm verbs against the real daemon', function () {
  this.timeout(60_000);
  let dir: string;
  let cf: string;
  let pidFile: string;
  let socket: string;
  const servers: Server[] = [];

  const listen = async (host: string, port: number, body: string): Promise<void> => {
    const s = createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => s.listen(port, host, () => r()));
    servers.push(s);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'directord-rt-'));
    cf = join(dir, 'rt.cf');
    pidFile = join(dir, 'directord.pid');
    socket = join(dir, 'control.sock');
    writeFileSync(
      cf,
      `logfile="${dir}/directord.log"\ncheckinterval=1\ncheckimeout=1\nquiescent=yes\n\nvirtual=${NET}.1:${CFG_PORT}\n\treal=${NET}.2:${CFG_PORT} masq 1\n\tscheduler=rr\n\tprotocol=tcp\n\tchecktype=connect\n`.replace('checkimeout', 'checktimeout'),
    );
    await listen(`${NET}.2`, CFG_PORT, 'configured\n');
    await listen(`${NET}.3`, RT_PORT, 'runtime\n');
    const start = await runNode(DIRECTORD, ['-p', pidFile, '-s', socket, '--state-file', join(dir, 'state.json'), cf, 'start'], { timeoutMs: 45_000 });
    assert.equal(start.code, 0, start.stderr);
    await waitFor(async () => (await ctl(socket, ['-L', '-n'])).stdout.includes(`-> ${NET}.2:${CFG_PORT}`), 10_000, 'the configured service');
  });

  after(async () => {
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
    if (pid !== undefined) await runNode(DIRECTORD, ['-p', pidFile, cf, 'stop'], { timeoutMs: 30_000 }).catch(() => undefined);
    killIfAlive(pid);
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('-A / -a add a service and a real that carry traffic; -L -n lists them exactly as ipvsadm', async () => {
    const add = await ctl(socket, ['-A', '-t', `${NET}.1:${RT_PORT}`, '-s', 'rr']);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, '', 'ipvsadm is silent on success');
    const addReal = await ctl(socket, ['-a', '-t', `${NET}.1:${RT_PORT}`, '-r', `${NET}.3:${RT_PORT}`, '-m', '-w', '2']);
    assert.equal(addReal.code, 0, addReal.stderr);
    assert.equal(await httpGet(`http://${NET}.1:${RT_PORT}/`), 'runtime\n');
    const list = await ctl(socket, ['-L', '-n']);
    assert.equal(list.code, 0, list.stderr);
    // ipvsadm 1.2x print_title / print_service_entry: "%s  %s %s" and "  -> %-28s %-7s %-6d %-10d %-10d" (trailing blanks trimmed).
    const realLine = (ep: string, fwd: string, w: number, active: number, inact: number): string =>
      `  -> ${ep.padEnd(28)} ${fwd.padEnd(7)} ${String(w).padEnd(6)} ${String(active).padEnd(10)} ${inact}`.trimEnd();
    const inact = (text: string, ep: string): number => Number(new RegExp(`-> ${ep.replace(/\./g, '\\.')}\\s+\\S+\\s+\\d+\\s+\\d+\\s+(\\d+)`).exec(text)?.[1] ?? NaN);
    assert.equal(
      list.stdout,
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        `TCP  ${NET}.1:${CFG_PORT} rr`,
        // The reals are loopback addresses of this host: ipvsadm shows them as Local (IP_VS_CONN_F_LOCALNODE).
        realLine(`${NET}.2:${CFG_PORT}`, 'Local', 1, 0, inact(list.stdout, `${NET}.2:${CFG_PORT}`)),
        `TCP  ${NET}.1:${RT_PORT} rr`,
        realLine(`${NET}.3:${RT_PORT}`, 'Local', 2, 0, inact(list.stdout, `${NET}.3:${RT_PORT}`)),
        '',
      ].join('\n'),
    );
    const status = await ctl(socket, ['status']);
    assert.match(status.stdout, /tcp:127\.70\.\d+\.1:18092 .*runtime-added by control\(uid=0/);
    assert.match(status.stdout, new RegExp(`${NET.replace(/\./g, '\\.')}\\.3:${RT_PORT} .*runtime-added by control`));
    // -A of an existing service is refused, as ipvsadm does.
    const dup = await ctl(socket, ['-A', '-t', `${NET}.1:${RT_PORT}`, '-s', 'rr']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /DIR_ERR_CONTROL_SERVICE_EXISTS/);
  });

  it('-e -w 0 quiesces the runtime real; -S round-trips through -C and -R', async () => {
    const q = await ctl(socket, ['-e', '-t', `${NET}.1:${RT_PORT}`, '-r', `${NET}.3:${RT_PORT}`, '-m', '-w', '0']);
    assert.equal(q.code, 0, q.stderr);
    const list = await ctl(socket, ['-L', '-n', '-t', `${NET}.1:${RT_PORT}`]);
    assert.match(list.stdout, new RegExp(`-> ${NET.replace(/\./g, '\\.')}\\.3:${RT_PORT}\\s+Local\\s+0\\s`));
    const saved = await ctl(socket, ['-S', '-n']);
    assert.equal(saved.code, 0, saved.stderr);
    assert.ok(saved.stdout.includes(`-A -t ${NET}.1:${RT_PORT} -s rr`), saved.stdout);
    assert.match(saved.stdout, new RegExp(`^-a -t ${NET.replace(/\./g, '\\.')}\\.1:${RT_PORT} -r ${NET.replace(/\./g, '\\.')}\\.3:${RT_PORT} -[gmi] -w 0$`, 'm'));
    const clear = await ctl(socket, ['-C']);
    assert.equal(clear.code, 0, clear.stderr);
    const afterClear = await ctl(socket, ['-S', '-n']);
    assert.ok(!afterClear.stdout.includes(`${RT_PORT}`), 'the runtime service is gone after -C');
    assert.ok(afterClear.stdout.includes(`-A -t ${NET}.1:${CFG_PORT}`), 'the configured service stays after -C');
    const restore = await ctl(socket, ['-R'], saved.stdout);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal((await ctl(socket, ['-S', '-n'])).stdout, saved.stdout);
    // A bad line refuses the whole restore: the good line before it is not applied either.
    const bad = await ctl(socket, ['-R'], `-A -t ${NET}.1:${RT_PORT + 1} -s rr\n-A -t ${NET}.1:${RT_PORT} -s rr\n`);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /restore stopped at input line 2: DIR_ERR_CONTROL_SERVICE_EXISTS/);
    assert.match(bad.stderr, /nothing was applied/);
    assert.equal((await ctl(socket, ['-S', '-n'])).stdout, saved.stdout);
  });

  it('--set changes the timeouts of every service; -Z zeroes the counters', async () => {
    const set = await ctl(socket, ['--set', '60', '0', '0']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await ctl(socket, ['-L', '--timeout'])).stdout, 'Timeout (tcp tcpfin udp): 60 120 300\n');
    assert.equal(await httpGet(`http://${NET}.1:${CFG_PORT}/`), 'configured\n');
    const conns = async (): Promise<number> => {
      const line = (await ctl(socket, ['-L', '-n', '--stats', '--exact', '-t', `${NET}.1:${CFG_PORT}`])).stdout.split('\n').find((l) => l.startsWith('TCP '));
      return Number(line?.trim().split(/\s+/)[2]);
    };
    assert.ok((await conns()) >= 1, 'the request was counted');
    const zero = await ctl(socket, ['-Z']);
    assert.equal(zero.code, 0, zero.stderr);
    assert.equal(await conns(), 0);
  });

  it('-d removes the real, -D the service; the audit log names every edit', async () => {
    const d = await ctl(socket, ['-d', '-t', `${NET}.1:${RT_PORT}`, '-r', `${NET}.3:${RT_PORT}`]);
    assert.equal(d.code, 0, d.stderr);
    assert.ok(!(await ctl(socket, ['-L', '-n'])).stdout.includes(`${NET}.3:${RT_PORT}`));
    const del = await ctl(socket, ['-D', '-t', `${NET}.1:${RT_PORT}`]);
    assert.equal(del.code, 0, del.stderr);
    const list = await ctl(socket, ['-L', '-n']);
    assert.ok(!list.stdout.includes(`:${RT_PORT}`), list.stdout);
    const missing = await ctl(socket, ['-D', '-t', `${NET}.1:${RT_PORT}`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /DIR_ERR_CONTROL_NO_SUCH_SERVICE/);
    const log = join(dir, 'directord.log');
    await waitFor(() => readFileSync(log, 'utf8').includes(`admin: ipvsadm -D tcp:${NET}.1:${RT_PORT}`), 5000, 'the -D audit line');
    const text = readFileSync(log, 'utf8');
    for (const line of [`-A tcp:${NET}.1:${RT_PORT}`, `-a tcp:${NET}.1:${RT_PORT} -r ${NET}.3:${RT_PORT}`, `-e tcp:${NET}.1:${RT_PORT} -r ${NET}.3:${RT_PORT}`, '-C', `-d tcp:${NET}.1:${RT_PORT} -r ${NET}.3:${RT_PORT}`]) {
      assert.ok(text.includes(`admin: ipvsadm ${line}`), `audit of ${line}`);
    }
    assert.match(text, /admin: ipvsadm -C.*control\(uid=0/, 'the audit names the peer');
  });
});
