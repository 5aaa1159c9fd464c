/**
 * What only the native TCP data path (native/relay.c + src/engine/embedded/native.ts) has to show;
 * every shared behaviour runs on both paths in tcp.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { EmbeddedEngine } from '../../../src/engine/embedded/index.js';
import type { DesiredService } from '../../../src/engine/model.js';
import { loadRelayAddon } from '../../../src/sys/relay.js';
import { skipBecause } from '../../support/skip.js';
import { closeSocket, connectForName, freshVip, nameOnce, realOf, serviceOf, startTcpBackend, waitFor, type TcpBackend } from './helpers.js';

/** Sends `payload`, half-closes, and resolves with everything the far side sent back. */
function exchange(vip: { address: string; port: number }, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1', allowHalfOpen: true });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.once('error', reject);
    s.once('end', () => {
      s.end();
      resolve(Buffer.concat(chunks));
    });
    s.end(payload);
  });
}

describe('engine/embedded native relay (loopback)', function () {
  this.timeout(20_000);
  let engine: EmbeddedEngine;
  let backends: TcpBackend[];
  let logger: MemoryLogger;

  before(function () {
    const addon = loadRelayAddon();
    if (addon instanceof Error) skipBecause(this, `the addon is not built (${addon.message}); npm test builds it first`);
  });
  beforeEach(() => {
    logger = new MemoryLogger();
    backends = [];
  });
  afterEach(async () => {
    engine?.destroy();
    await Promise.all(backends.map((b) => b.close()));
  });

  async function start(opts: { relayThreads?: number } = {}): Promise<void> {
    engine = new EmbeddedEngine({ clock: new ManualClock(), logger, ...opts });
  }

  async function applyOk(svc: DesiredService): Promise<void> {
    const r = await engine.apply({ services: [svc] });
    assert.deepEqual(r.failures, []);
  }

  it('serves plain TCP services on the relay threads and L7 services on Node sockets', async () => {
    await start();
    const a = await startTcpBackend('rs1', '127.10.2.1', 'name');
    backends.push(a);
    const plain = freshVip();
    await applyOk(serviceOf(plain, [realOf(a)]));
    const held = await connectForName(plain);
    assert.equal(held.name, 'rs1');
    assert.equal(engine.relay?.flowCount, 1, 'the connection is a relay flow');
    await closeSocket(held.socket);
    await waitFor(() => engine.relay?.flowCount === 0, 'relay flow finished');

    const l7 = freshVip();
    await engine.apply({ services: [serviceOf(plain, [realOf(a)]), serviceOf(l7, [realOf(a)], { l7Rules: [{ pattern: '^/', reals: [a.key] }] })] });
    const sock = net.connect({ host: l7.address, port: l7.port, localAddress: '127.10.3.1' });
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.write('GET / HTTP/1.0\r\n\r\n');
    await waitFor(() => got.startsWith('rs1\n'), 'L7 connection answered');
    assert.equal(engine.relay?.flowCount, 0, 'L7 connections are not relay flows');
    assert.equal(engine.connections().filter((c) => !c.template).length, 1);
    await closeSocket(sock);
  });

  it('moves a live service to Node sockets when L7 rules are added; the relayed connection carries on', async () => {
    await start();
    const a = await startTcpBackend('rs1', '127.10.2.1', 'name');
    const b = await startTcpBackend('rs2', '127.10.2.2', 'name');
    backends.push(a, b);
    const vip = freshVip();
    const svc = serviceOf(vip, [realOf(a), realOf(b)]);
    await applyOk(svc);
    const held = await connectForName(vip);
    assert.equal(held.name, 'rs1');
    await applyOk({ ...svc, l7Rules: [{ pattern: '^/two', reals: [b.key] }] });
    // The old connection still relays.
    let echoed = '';
    held.socket.on('data', (d: Buffer) => (echoed += d.toString()));
    held.socket.write('still-here');
    await waitFor(() => echoed === 'still-here', 'relayed connection still echoes');
    // New connections are routed by path.
    const sock = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1' });
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.write('GET /two HTTP/1.0\r\n\r\n');
    await waitFor(() => got.startsWith('rs2\n'), 'routed by the L7 rule');
    await closeSocket(sock);
    await closeSocket(held.socket);
  });

  it('two relay threads: rr decisions stay exact and counters add up byte for byte', async () => {
    await start({ relayThreads: 2 });
    const a = await startTcpBackend('e1', '127.10.2.11', 'echo');
    const b = await startTcpBackend('e2', '127.10.2.12', 'echo');
    backends.push(a, b);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a), realOf(b)]));
    const sizes = Array.from({ length: 60 }, (_, i) => 1 + ((i * 7919) % 20_000));
    const payloads = sizes.map((n) => randomBytes(n));
    // In parallel, so both threads accept.
    const replies = await Promise.all(payloads.map((p) => exchange(vip, p)));
    for (let i = 0; i < payloads.length; i++) assert.ok(replies[i]!.equals(payloads[i]!), `reply ${i} byte-exact`);
    await waitFor(() => engine.connections().length === 0, 'all finished');
    const st = engine.stats().services[0]!;
    assert.deepEqual(
      st.reals.map((r) => r.counters.conns),
      [30, 30],
    );
    const total = sizes.reduce((x, y) => x + y, 0);
    assert.equal(st.counters.inBytes, total);
    assert.equal(st.counters.outBytes, total);
    assert.equal(st.reals[0]!.counters.inBytes + st.reals[1]!.counters.inBytes, total);
    assert.equal(a.received.reduce((n, r) => n + r.length, 0), st.reals[0]!.counters.inBytes);
  });

  it('500 concurrent connections relay 64 KiB each byte-exact', async () => {
    await start();
    const a = await startTcpBackend('e1', '127.10.2.21', 'echo');
    backends.push(a);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a)]));
    const payloads = Array.from({ length: 500 }, () => randomBytes(65_536));
    const replies = await Promise.all(payloads.map((p) => exchange(vip, p)));
    const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    for (let i = 0; i < payloads.length; i++) assert.equal(digest(replies[i]!), digest(payloads[i]!));
    await waitFor(() => engine.connections().length === 0, 'all finished');
    assert.equal(engine.stats().services[0]!.counters.outBytes, 500 * 65_536);
  });

  it('a real that speaks first (banner protocols) is relayed before the client sends anything', async () => {
    await start();
    const a = await startTcpBackend('banner', '127.10.2.31', 'name');
    backends.push(a);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a)]));
    assert.equal(await nameOnce(vip), 'banner');
  });

  it('a reset on either side resets the other', async () => {
    await start();
    const a = await startTcpBackend('hold', '127.10.2.41', 'hold');
    backends.push(a);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a)]));

    // Client resets: the real sees ECONNRESET, not a FIN.
    const c1 = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1' });
    await new Promise<void>((r) => c1.once('connect', () => r()));
    c1.write('x');
    await waitFor(() => a.sockets.size === 1 && a.received[0]?.length === 1, 'real got the byte');
    const real1 = [...a.sockets][0]!;
    const real1Error = new Promise<string>((r) => real1.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? '')));
    c1.resetAndDestroy();
    assert.equal(await real1Error, 'ECONNRESET');
    await waitFor(() => engine.connections().length === 0, 'flow gone');

    // Real resets: the client sees ECONNRESET.
    const c2 = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1' });
    const c2Error = new Promise<string>((r) => c2.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? '')));
    await new Promise<void>((r) => c2.once('connect', () => r()));
    c2.write('y');
    await waitFor(() => a.sockets.size === 1 && a.received[1]?.length === 1, 'real got the byte');
    [...a.sockets][0]!.resetAndDestroy();
    assert.equal(await c2Error, 'ECONNRESET');
    await waitFor(() => engine.connections().length === 0, 'flow gone');
  });

  it('clients that reset at once (before or while the real is connected) leave nothing behind', async () => {
    await start();
    const a = await startTcpBackend('hold', '127.10.2.71', 'hold');
    backends.push(a);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a)]));
    await Promise.all(
      Array.from(
        { length: 100 },
        () =>
          new Promise<void>((resolve) => {
            const c = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1' });
            c.on('error', () => undefined);
            c.once('connect', () => {
              c.resetAndDestroy();
              resolve();
            });
          }),
      ),
    );
    await waitFor(() => engine.relay?.flowCount === 0 && engine.connections().length === 0, 'every flow finished');
    const r = engine.stats().services[0]!.reals[0]!;
    assert.equal(r.activeConns + r.inactiveConns, 0);
    assert.ok(r.counters.conns <= 100);
    await waitFor(() => a.sockets.size === 0, 'the real side of every connection closed too');
    // The service still relays.
    const before = a.accepted;
    const c = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1' });
    c.write('still-relaying');
    await waitFor(() => a.accepted === before + 1 && a.received.at(-1)?.toString() === 'still-relaying', 'a new connection relays');
    c.resetAndDestroy();
  });

  it('a request sent and half-closed before the real is connected still arrives whole, and the answer comes back', async () => {
    await start();
    const a = await startTcpBackend('e1', '127.10.2.51', 'echo');
    backends.push(a);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a)]));
    // exchange() writes and sends FIN at once, typically before the relay's connect completes.
    const reply = await exchange(vip, Buffer.from('ping-then-fin'));
    assert.equal(reply.toString(), 'ping-then-fin');
  });

  it('keeps the process alive while it listens and lets it exit after close()', async function () {
    // A child process: an engine with one listener must hold the event loop like a net.Server does,
    // and once closed must not (no stray thread or handle keeps the process).
    const a = await startTcpBackend('alive', '127.10.2.61', 'name');
    backends.push(a);
    const vip = freshVip();
    const script = `
      import { EmbeddedEngine } from ${JSON.stringify(fileURLToPath(new URL('../../../src/engine/embedded/index.js', import.meta.url)))};
      const engine = new EmbeddedEngine();
      const svc = { key: 'tcp:${vip.address}:${vip.port}', protocol: 'tcp', family: 4, address: '${vip.address}', port: ${vip.port},
        scheduler: 'rr', schedulerFlags: [], ops: false, timeouts: { tcpMs: 1000, tcpFinMs: 1000, udpMs: 1000 },
        reals: [{ key: '${a.key}', address: '${a.address}', port: ${a.port}, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
        onRealRemoved: 'finish', l7Rules: [] };
      const r = await engine.apply({ services: [svc] });
      if (r.failures.length > 0 || engine.relay === undefined) { console.log('not-native'); process.exit(3); }
      console.log('listening');
      // A signal handler does not hold the event loop: only the engine's listener can.
      process.on('SIGUSR2', () => { void engine.close(1000); });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitFor(() => out.includes('listening') || child.exitCode !== null, 'child listening', 15_000);
    assert.equal(out.trim(), 'listening');
    // Still alive after its top-level code has run: connections are scheduled and relayed.
    assert.equal(await nameOnce(vip), 'alive');
    assert.equal(await nameOnce(vip), 'alive');
    assert.equal(child.exitCode, null, 'still running while listening');
    child.kill('SIGUSR2');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    if (code === 'hung') child.kill('SIGKILL');
    assert.equal(code, 0, 'the process exits by itself after close()');
  });
});
