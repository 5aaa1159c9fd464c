/**
 * The control protocol over a real unix socket: round trips, streaming, bad frames, audit, socket
 * file handling. The API behind the server is a fake of the daemon (see test/unit/control/fake-api.ts).
 */
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { AuditRecord, DrainProgress } from '../../../src/control/api.js';
import { connectControl } from '../../../src/control/client.js';
import type { ControlClient } from '../../../src/control/client.js';
import { createControlServer } from '../../../src/control/server.js';
import type { ControlServer } from '../../../src/control/server.js';
import { DirectorError } from '../../../src/core/errors.js';
import { EXIT } from '../../../src/core/exit-status.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { FakeControlApi, sampleStats } from '../../unit/control/fake-api.js';
import { RawConnection, tempDir, waitFor } from './helpers.js';
import { spawn } from 'node:child_process';
import { skipBecause } from '../../support/skip.js';

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<DirectorError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DirectorError, `expected a DirectorError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected rejection with ${code}`);
}

describe('control protocol (unix socket)', function () {
  this.timeout(10_000);
  let tmp: ReturnType<typeof tempDir>;
  let socketPath: string;
  let api: FakeControlApi;
  let audits: AuditRecord[];
  let logger: MemoryLogger;
  let server: ControlServer;
  const clients: ControlClient[] = [];
  const raws: RawConnection[] = [];

  const client = async (): Promise<ControlClient> => {
    const c = await connectControl(socketPath, { timeoutMs: 3000 });
    clients.push(c);
    return c;
  };
  const raw = async (): Promise<RawConnection> => {
    const r = await RawConnection.open(socketPath);
    raws.push(r);
    return r;
  };

  beforeEach(async () => {
    tmp = tempDir();
    socketPath = join(tmp.dir, 'run', 'directord.sock');
    api = new FakeControlApi();
    audits = [];
    logger = new MemoryLogger();
    server = createControlServer({ socketPath, api, logger, audit: (r) => audits.push(r), maxFrameBytes: 4096 });
    await server.start();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const r of raws.splice(0)) r.close();
    server.destroy();
    tmp.cleanup();
  });

  it('creates the socket 0600 in a 0700 directory it made, and removes it on close', async () => {
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
    assert.ok(statSync(socketPath).isSocket());
    assert.equal(statSync(join(tmp.dir, 'run')).mode & 0o777, 0o700);
    await server.close();
    assert.equal(existsSync(socketPath), false);
    await server.close(); // idempotent
  });

  it('round-trips the read methods', async () => {
    const c = await client();
    const status = await c.status();
    assert.equal(status.role, 'MASTER');
    assert.equal(status.virtuals[0]?.reals[1]?.override?.kind, 'disabled');
    assert.deepEqual(await c.engineStats(), JSON.parse(JSON.stringify(sampleStats())));
    assert.equal((await c.connections())[0]?.state, 'ESTABLISHED');
    assert.deepEqual(await c.timeouts(), { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 });
    assert.equal((await c.version()).ipvsVersion, '1.2.1');
    assert.equal((await c.l7Rules())[0]?.rules.length, 2);
    assert.equal(audits.length, 0, 'reads are not audited');
  });

  it('passes admin requests to the audit hook with the peer the client declared, pid verified', async () => {
    const c = await client();
    const result = await c.setWeight({ virtualId: 'tcp:192.0.2.1:80', realKey: '192.0.2.10:80' }, 5);
    assert.equal(result.summary, 'setWeight 192.0.2.10:80');
    assert.equal(audits.length, 1);
    const record = audits[0] as AuditRecord;
    assert.equal(record.method, 'setWeight');
    assert.deepEqual(record.params, { selector: { virtualId: 'tcp:192.0.2.1:80', realKey: '192.0.2.10:80' }, weight: 5 });
    assert.equal(record.peer.uid, process.getuid?.());
    assert.equal(record.peer.pid, process.pid);
    assert.equal(record.peer.pidVerified, true);
    assert.equal(record.peer.user, (await import('node:os')).userInfo().username);
    // The API saw the same peer.
    assert.equal(api.calls[0]?.ctx?.peer.pid, process.pid);
  });

  it('without kernel credentials, a declared pid that does not run as the declared uid is not verified', async () => {
    const path = join(tmp.dir, 'declared.sock');
    const declared = createControlServer({ socketPath: path, api, logger, audit: (r) => audits.push(r), verifyPeer: false });
    await declared.start();
    try {
      const r = await RawConnection.open(path);
      raws.push(r);
      r.send(`${JSON.stringify({ v: 1, id: 1, method: 'hello', params: { uid: 4242, pid: process.pid, user: 'mallory' } })}\n`);
      await r.frame(0);
      r.send(`${JSON.stringify({ v: 1, id: 2, method: 'reload', params: {} })}\n`);
      const reply = await r.frame(1);
      assert.deepEqual(reply.result, { ok: true, summary: '1 virtual changed' });
      assert.equal(audits[0]?.peer.uid, 4242);
      assert.equal(audits[0]?.peer.credentials, 'declared');
      assert.equal(audits[0]?.peer.pidVerified, false);
    } finally {
      await declared.close();
    }
  });

  it('with kernel credentials (sock_diag via ss), the audited peer is the real process, whatever it declares', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, "ss shows other processes' sockets only to root");
    const r = await raw();
    r.send(`${JSON.stringify({ v: 1, id: 1, method: 'hello', params: { uid: 4242, pid: 1, user: 'mallory' } })}\n`);
    await r.frame(0);
    r.send(`${JSON.stringify({ v: 1, id: 2, method: 'reload', params: {} })}\n`);
    await r.frame(1);
    const peer = audits[0]?.peer;
    assert.equal(peer?.credentials, 'kernel', 'ss and /proc gave the peer');
    assert.equal(peer?.pid, process.pid);
    assert.equal(peer?.uid, 0);
    assert.equal(peer?.user, undefined, 'a declared user name is not trusted when the uid disagrees');
    assert.ok(logger.records.some((l) => l.level === 'warn' && l.message.includes('declared another uid')));
  });

  it('answers malformed JSON with an error frame and keeps the connection', async () => {
    const r = await raw();
    r.send('this is not json\n');
    const err = await r.frame(0);
    assert.equal(err.id, null);
    assert.equal((err.error as { code: string }).code, 'DIR_ERR_CONTROL_MALFORMED_FRAME');
    r.send('[1,2,3]\n');
    assert.equal(((await r.frame(1)).error as { code: string }).code, 'DIR_ERR_CONTROL_MALFORMED_FRAME');
    r.send(`${JSON.stringify({ v: 1, id: 'x', method: 'status' })}\n`);
    assert.equal(((await r.frame(2)).error as { code: string }).code, 'DIR_ERR_CONTROL_MALFORMED_FRAME');
    r.send(`${JSON.stringify({ v: 1, id: 7, method: 'ping' })}\r\n`);
    const ok = await r.frame(3);
    assert.equal(ok.id, 7);
    assert.deepEqual(ok.result, { pong: true });
    assert.equal(r.closed, false);
  });

  it('refuses another protocol version with a coded error naming both versions', async () => {
    const r = await raw();
    r.send(`${JSON.stringify({ v: 2, id: 9, method: 'status', params: {} })}\n`);
    const err = await r.frame(0);
    assert.equal(err.id, 9);
    const e = err.error as { code: string; message: string };
    assert.equal(e.code, 'DIR_ERR_CONTROL_PROTOCOL_VERSION');
    assert.match(e.message, /unsupported control protocol 2; this directord speaks version 1/);
  });

  it('rejects unknown methods and invalid params with their codes', async () => {
    const c = await client();
    await rejectsWithCode(c.rawCall('explode', {}), 'DIR_ERR_CONTROL_UNKNOWN_METHOD');
    const e = await rejectsWithCode(c.setWeight({ realKey: '192.0.2.10:80' }, 70000), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    assert.match(e.message, /weight must be an integer 0\.\.65535/);
    assert.equal(e.exitStatus, EXIT.USAGE);
    await rejectsWithCode(c.rawCall('enable', { selector: {} }), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    await rejectsWithCode(c.rawCall('ipvsadm', { commands: [{ op: 'rm-rf' }] }), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    assert.equal(api.calls.length, 0, 'nothing invalid reached the API');
    assert.equal(audits.length, 0, 'nothing invalid was audited');
  });

  it('keeps the API error code; turns an unexpected exception into DIR_ERR_CONTROL_INTERNAL and carries on', async () => {
    const c = await client();
    const noSuch = await rejectsWithCode(c.disable({ realKey: '203.0.113.99:80' }), 'DIR_ERR_CONTROL_NO_SUCH_REAL');
    assert.match(noSuch.message, /no real server 203\.0\.113\.99:80/);
    api.failNext = new TypeError('cannot read properties of undefined');
    const internal = await rejectsWithCode(c.enable({ realKey: '192.0.2.10:80' }), 'DIR_ERR_CONTROL_INTERNAL');
    assert.equal(internal.exitStatus, EXIT.SOFTWARE);
    assert.ok(logger.records.some((r) => r.level === 'error' && String(r.fields.error).includes('cannot read properties')));
    assert.equal((await c.status()).role, 'MASTER');
  });

  it('streams drain progress frames before the final result', async () => {
    const control = api.controlNextDrain();
    const c = await client();
    const seen: DrainProgress[] = [];
    const done = c.drain({ realKey: '192.0.2.10:80' }, { deadlineMs: 30_000 }, { onProgress: (p) => seen.push(p) });
    await control.started;
    control.step(3);
    control.step(1);
    control.step(0);
    control.finish('drained');
    const result = await done;
    assert.deepEqual(
      seen.map((p) => p.activeConns),
      [3, 1, 0],
    );
    assert.equal(result.outcome, 'drained');
    assert.equal(audits[0]?.method, 'drain');
    assert.deepEqual(audits[0]?.params, { selector: { realKey: '192.0.2.10:80' }, options: { deadlineMs: 30_000 } });
  });

  it('aborts a streaming request when its client goes away', async () => {
    api.controlNextDrain();
    const r = await raw();
    r.send(`${JSON.stringify({ v: 1, id: 1, method: 'drain', params: { selector: { realKey: '192.0.2.10:80' }, options: {} } })}\n`);
    await waitFor(() => api.calls.length === 1, 3000, 'drain to start');
    const ctx = api.calls[0]?.ctx;
    assert.ok(ctx);
    assert.equal(ctx.signal.aborted, false);
    r.close();
    await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve())));
    assert.equal(server.connectionCount(), 0);
  });

  it('answers pipelined requests by id', async () => {
    const r = await raw();
    r.send(
      [1, 2, 3].map((id) => JSON.stringify({ v: 1, id, method: id === 2 ? 'timeouts' : 'ping' })).join('\n') + '\n',
    );
    await r.until(() => r.lines.length === 3);
    const byId = new Map(r.lines.map((l) => [(JSON.parse(l) as { id: number }).id, JSON.parse(l) as Record<string, unknown>]));
    assert.deepEqual(byId.get(1)?.result, { pong: true });
    assert.deepEqual(byId.get(2)?.result, { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 });
  });

  it('closes a connection whose frame exceeds the limit, with an error frame, and keeps serving others', async () => {
    const r = await raw();
    r.send('{"v":1,"id":1,"method":"status","params":{"pad":"' + 'x'.repeat(8000));
    const err = await r.frame(0);
    assert.equal((err.error as { code: string }).code, 'DIR_ERR_CONTROL_FRAME_TOO_LARGE');
    await r.until(() => r.closed, 3000, 'server to close the connection');
    const c = await client();
    assert.equal((await c.status()).role, 'MASTER');
  });

  it('cancels a running drain on close() and removes the socket', async () => {
    api.controlNextDrain();
    const c = await client();
    const done = c.drain({ realKey: '192.0.2.10:80' }, {}, {});
    await waitFor(() => api.calls.length > 0, 3000, 'drain to start');
    await server.close();
    const result = await done.catch((e: unknown) => e);
    // The cancelled result may arrive before the connection ends; either way nothing hangs.
    assert.ok((result as { outcome?: string }).outcome === 'cancelled' || result instanceof DirectorError);
    assert.equal(existsSync(socketPath), false);
    await rejectsWithCode(connectControl(socketPath), 'DIR_ERR_CONTROL_DAEMON_UNAVAILABLE');
  });

  it('close() does not wait forever for a request that never answers', async () => {
    const path = join(tmp.dir, 'hung.sock');
    const hung = new FakeControlApi();
    let started = false;
    hung.checkNow = () => {
      started = true;
      return new Promise(() => undefined);
    };
    const srv = createControlServer({ socketPath: path, api: hung, logger, closeTimeoutMs: 100 });
    await srv.start();
    const c = await connectControl(path);
    clients.push(c);
    const pendingCheck = c.checkNow({ realKey: '192.0.2.10:80' }).catch((e: unknown) => e);
    await waitFor(() => started, 3000, 'the check to be running');
    await srv.close();
    const outcome = await pendingCheck;
    assert.ok(outcome instanceof DirectorError, `the client learns the connection closed: ${String(outcome)}`);
    assert.ok(logger.records.some((r) => r.message.includes('still running at close')));
  });

  it('refuses to start over a live socket, replaces a stale one, and refuses a regular file', async () => {
    const second = createControlServer({ socketPath, api, logger });
    await rejectsWithCode(second.start(), 'DIR_ERR_CONTROL_SOCKET_IN_USE');
    await server.close();

    // A stale socket file: its process was killed, so nobody unlinked it and nobody answers.
    const stalePath = join(tmp.dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stalePath)}, () => process.stdout.write('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', () => reject(new Error('listener child exited early')));
    });
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    assert.ok(statSync(stalePath).isSocket());
    const replacing = createControlServer({ socketPath: stalePath, api, logger });
    await replacing.start();
    const c = await connectControl(stalePath);
    assert.equal((await c.status()).role, 'MASTER');
    c.close();
    replacing.destroy();

    const filePath = join(tmp.dir, 'plain-file');
    writeFileSync(filePath, 'x');
    await rejectsWithCode(createControlServer({ socketPath: filePath, api, logger }).start(), 'DIR_ERR_CONTROL_SOCKET_SETUP');
  });

  it('access: a group gets mode 0660 and a 0750 directory; a member whose uid is not allowed is refused (kernel credentials)', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'chown to another group needs root');
    const path = join(tmp.dir, 'group', 'directord.sock');
    const grouped = createControlServer({ socketPath: path, api, logger, access: { gid: 65534, allowedUids: [1000] } });
    await grouped.start();
    try {
      const st = statSync(path);
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, 65534);
      assert.equal(st.uid, 0);
      assert.equal(statSync(join(tmp.dir, 'group')).mode & 0o777, 0o750);
      assert.equal(statSync(join(tmp.dir, 'group')).gid, 65534);
      chmodSync(tmp.dir, 0o755); // the test's own temp dir must not be what stops nobody
      // nobody (primary group 65534) may connect through the group mode, but its uid is not allowed.
      const script =
        "const s = require('net').createConnection(process.argv[1]); let buf = ''; " +
        "s.on('connect', () => s.write(JSON.stringify({ v: 1, id: 1, method: 'hello', params: { uid: 0 } }) + '\\n' + JSON.stringify({ v: 1, id: 2, method: 'reload', params: {} }) + '\\n')); " +
        "s.on('data', (d) => { buf += d; if (buf.split('\\n').length > 2) { process.stdout.write(buf); process.exit(0); } }); " +
        "s.on('error', (e) => { console.log(e.code); process.exit(3); });";
      const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script, path], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 0, out);
      const replies = out.trim().split('\n').map((l) => JSON.parse(l) as { id: number; error?: { code: string } });
      assert.deepEqual(
        replies.map((f) => f.error?.code),
        ['DIR_ERR_CONTROL_NOT_ALLOWED', 'DIR_ERR_CONTROL_NOT_ALLOWED'],
      );
      assert.equal(api.calls.length, 0, 'the reload never ran');
    } finally {
      await grouped.close();
    }
  });

  it('drops a connection idle past the limit, but not one waiting for a streaming reply', async () => {
    const path = join(tmp.dir, 'idle.sock');
    const idle = createControlServer({ socketPath: path, api, logger, idleTimeoutMs: 150 });
    await idle.start();
    try {
      api.controlNextDrain();
      const waiting = await RawConnection.open(path);
      raws.push(waiting);
      waiting.send(`${JSON.stringify({ v: 1, id: 1, method: 'drain', params: { selector: { realKey: '192.0.2.10:80' } } })}\n`);
      const silent = await RawConnection.open(path);
      raws.push(silent);
      await silent.until(() => silent.closed, 3000, 'idle connection to be dropped');
      assert.equal(waiting.closed, false, 'a connection with a request in flight stays');
    } finally {
      idle.destroy();
    }
  });

  it('maps a missing socket to DIR_ERR_CONTROL_DAEMON_UNAVAILABLE (exit 69)', async () => {
    const e = await rejectsWithCode(connectControl(join(tmp.dir, 'nope.sock')), 'DIR_ERR_CONTROL_DAEMON_UNAVAILABLE');
    assert.equal(e.exitStatus, EXIT.UNAVAILABLE);
    assert.match(e.hint, /is directord running/);
  });

  it('times out a call the daemon never answers (DIR_ERR_CONTROL_TIMEOUT)', async () => {
    // A bare listener that accepts and never replies.
    const silentPath = join(tmp.dir, 'silent.sock');
    mkdirSync(tmp.dir, { recursive: true });
    const silent = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
    try {
      const c = await connectControl(silentPath, { hello: false });
      clients.push(c);
      const e = await rejectsWithCode(c.status({ timeoutMs: 200 }), 'DIR_ERR_CONTROL_TIMEOUT');
      assert.equal(e.exitStatus, EXIT.TEMPFAIL);
    } finally {
      for (const c of clients.splice(0)) c.close();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
