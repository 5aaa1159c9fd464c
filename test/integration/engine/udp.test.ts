import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { ManualClock } from '../../../src/core/clock.js';
import { EmbeddedEngine, type ListenFactory } from '../../../src/engine/embedded/index.js';
import { defaultListenFactory } from '../../../src/engine/embedded/listen.js';
import { freshVip, nameOnce, realOf, serviceOf, startTcpBackend, startUdpBackend, waitFor, type UdpBackend } from './helpers.js';

function udpClient(address: string): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, address, () => resolve(s));
  });
}

function ask(client: dgram.Socket, vip: { address: string; port: number }, text: string): Promise<string> {
  return new Promise((resolve) => {
    client.once('message', (m) => resolve(m.toString()));
    client.send(text, vip.port, vip.address);
  });
}

describe('engine/embedded UDP (loopback)', function () {
  this.timeout(15_000);
  let engine: EmbeddedEngine;
  let clock: ManualClock;
  let backends: UdpBackend[];
  let clients: dgram.Socket[];

  beforeEach(() => {
    clock = new ManualClock();
    engine = new EmbeddedEngine({ clock });
    backends = [];
    clients = [];
  });
  afterEach(async () => {
    engine.destroy();
    for (const c of clients) c.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('keeps a client on one real per flow, replies reach the right client, idle flows expire', async () => {
    backends.push(await startUdpBackend('u1', '127.10.5.1'), await startUdpBackend('u2', '127.10.5.2'));
    const vip = freshVip();
    const svc = serviceOf(vip, backends.map((b) => realOf(b)), { protocol: 'udp', timeouts: { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 30_000 } });
    assert.deepEqual((await engine.apply({ services: [svc] })).failures, []);
    const c1 = await udpClient('127.10.6.1');
    const c2 = await udpClient('127.10.6.2');
    clients.push(c1, c2);
    assert.equal(await ask(c1, vip, 'a'), 'u1:a');
    assert.equal(await ask(c2, vip, 'b'), 'u2:b');
    assert.equal(await ask(c1, vip, 'c'), 'u1:c');
    assert.equal(await ask(c2, vip, 'd'), 'u2:d');
    const flows = engine.connections().filter((e) => e.protocol === 'UDP');
    assert.equal(flows.length, 2);
    assert.ok(flows.every((f) => f.state === 'UDP' && f.expiresInMs === 30_000));
    const st = engine.stats().services[0]!;
    assert.deepEqual(st.reals.map((r) => [r.activeConns, r.inactiveConns, r.counters.conns]), [[0, 1, 1], [0, 1, 1]]);
    assert.equal(st.counters.inBytes, 4);
    assert.equal(st.counters.outBytes, 4 * 4);
    assert.equal(st.counters.inPackets, 4);
    assert.equal(st.counters.outPackets, 4);
    clock.advance(29_000);
    assert.equal(engine.connections().length, 2);
    clock.advance(2_000);
    assert.equal(engine.connections().length, 0);
    assert.deepEqual(engine.stats().services[0]!.reals.map((r) => r.inactiveConns), [0, 0]);
    // A new flow after expiry is scheduled again (rr moves on).
    assert.equal(await ask(c1, vip, 'e'), 'u1:e');
    assert.equal(engine.stats().services[0]!.counters.conns, 3);
  });

  it('one-packet scheduling schedules every datagram', async () => {
    backends.push(await startUdpBackend('u1', '127.10.5.3'), await startUdpBackend('u2', '127.10.5.4'));
    const vip = freshVip();
    await engine.apply({ services: [serviceOf(vip, backends.map((b) => realOf(b)), { protocol: 'udp', ops: true })] });
    const c = await udpClient('127.10.6.3');
    clients.push(c);
    const answers = [];
    for (const t of ['1', '2', '3', '4']) answers.push(await ask(c, vip, t));
    assert.deepEqual(answers, ['u1:1', 'u2:2', 'u1:3', 'u2:4']);
    const st = engine.stats().services[0]!;
    assert.equal(st.counters.conns, 4);
    assert.deepEqual(st.reals.map((r) => r.inactiveConns), [0, 0]);
    assert.equal(engine.connections().length, 0);
  });
});

describe('engine/embedded listener on a VIP that is not present yet', function () {
  this.timeout(10_000);

  it('retries EADDRNOTAVAIL through the Clock, logs, and serves once the bind succeeds', async () => {
    const clock = new ManualClock();
    let failuresLeft = 2;
    const calls: string[] = [];
    const factory: ListenFactory = {
      listenTcp(server, req) {
        calls.push(`${req.address}:${req.port}`);
        if (failuresLeft-- > 0) return Promise.reject(Object.assign(new Error('bind EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL' }));
        return defaultListenFactory.listenTcp(server, req);
      },
      bindUdp: (req) => defaultListenFactory.bindUdp(req),
    };
    const { MemoryLogger } = await import('../../../src/core/logger.js');
    const logger = new MemoryLogger();
    const engine = new EmbeddedEngine({ clock, logger, listen: factory, bindRetry: { intervalMs: 1000, maxAttempts: 10 } });
    const b = await startTcpBackend('late', '127.10.5.10');
    try {
      const vip = freshVip();
      const r = await engine.apply({ services: [serviceOf(vip, [realOf(b)])] });
      assert.deepEqual(r.failures, [], 'a VIP not present yet is not an apply failure');
      assert.equal(engine.stats().services[0]!.listening, false);
      assert.ok(logger.records.some((l) => l.level === 'warn' && l.message.includes('VIP not present')));
      clock.advance(1000);
      await waitFor(() => calls.length === 2, 'second attempt');
      clock.advance(1000);
      await waitFor(() => engine.stats().services[0]!.listening === true, 'bound on the third attempt');
      assert.equal(calls.length, 3);
      assert.equal(await nameOnce(vip), 'late');
    } finally {
      engine.destroy();
      await b.close();
    }
  });

  it('gives up after maxAttempts with DIR_ERR_ENGINE_LISTEN', async () => {
    const clock = new ManualClock();
    const factory: ListenFactory = {
      listenTcp: () => Promise.reject(Object.assign(new Error('bind EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL' })),
      bindUdp: () => Promise.reject(new Error('unused')),
    };
    const engine = new EmbeddedEngine({ clock, listen: factory, bindRetry: { intervalMs: 500, maxAttempts: 1 } });
    try {
      const r = await engine.apply({ services: [serviceOf(freshVip(), [])] });
      assert.equal(r.failures.length, 1);
      assert.equal((r.failures[0]!.error as { code?: string }).code, 'DIR_ERR_ENGINE_LISTEN');
      assert.equal(clock.pendingTimers() > 0, true); // the engine's own sweep/estimator timers
    } finally {
      engine.destroy();
    }
    assert.equal(clock.pendingTimers(), 0, 'destroy() cancels every timer');
  });
});
