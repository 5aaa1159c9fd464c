import assert from 'node:assert/strict';
import net from 'node:net';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { EmbeddedEngine } from '../../../src/engine/embedded/index.js';
import type { DesiredService } from '../../../src/engine/model.js';
import {
  closeSocket,
  connectForName,
  freshVip,
  nameOnce,
  realOf,
  serviceOf,
  startTcpBackend,
  waitFor,
  type TcpBackend,
} from './helpers.js';

// Every behaviour is checked on both TCP data paths: the addon's relay threads (the default) and
// Node sockets (the fallback, and what L7 services always use).
for (const dataPath of ['native', 'node'] as const) {
describe(`engine/embedded TCP (loopback, ${dataPath} data path)`, function () {
  this.timeout(15_000);
  let engine: EmbeddedEngine;
  let backends: TcpBackend[] = [];
  let clock: ManualClock;
  let logger: MemoryLogger;

  beforeEach(() => {
    clock = new ManualClock();
    logger = new MemoryLogger();
    engine = new EmbeddedEngine({ clock, logger, dataPath });
    backends = [];
  });
  afterEach(async () => {
    engine.destroy();
    await Promise.all(backends.map((b) => b.close()));
  });

  async function backendsN(n: number, mode: 'name' | 'echo' | 'raw' = 'name'): Promise<TcpBackend[]> {
    for (let i = 0; i < n; i++) backends.push(await startTcpBackend(`rs${i + 1}`, `127.10.2.${i + 1}`, mode));
    return backends;
  }

  async function applyOk(svc: DesiredService): Promise<void> {
    const r = await engine.apply({ services: [svc] });
    assert.deepEqual(r.failures, []);
  }

  it('rr spreads connections evenly and apply() is idempotent', async () => {
    const [a, b, c] = await backendsN(3);
    const vip = freshVip();
    const svc = serviceOf(vip, [realOf(a!), realOf(b!), realOf(c!)]);
    const first = await engine.apply({ services: [svc] });
    assert.equal(first.added, 1);
    const again = await engine.apply({ services: [svc] });
    assert.deepEqual({ added: again.added, updated: again.updated, removed: again.removed }, { added: 0, updated: 0, removed: 0 });
    const names: string[] = [];
    for (let i = 0; i < 9; i++) names.push(await nameOnce(vip));
    assert.deepEqual(names, ['rs1', 'rs2', 'rs3', 'rs1', 'rs2', 'rs3', 'rs1', 'rs2', 'rs3']);
    await waitFor(() => engine.connections().length === 0, 'all connections finished');
    const st = engine.stats().services[0]!;
    assert.deepEqual(st.reals.map((r) => r.counters.conns), [3, 3, 3]);
    assert.equal(st.counters.conns, 9);
  });

  it('wrr follows weights over a cycle', async () => {
    const [a, b] = await backendsN(2);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!, 3), realOf(b!, 1)], { scheduler: 'wrr' }));
    const counts: Record<string, number> = {};
    for (let i = 0; i < 8; i++) {
      const n = await nameOnce(vip);
      counts[n] = (counts[n] ?? 0) + 1;
    }
    assert.deepEqual(counts, { rs1: 6, rs2: 2 });
  });

  it('wlc sends new connections to the real with the fewest active ones', async () => {
    const [a, b] = await backendsN(2);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!, 1), realOf(b!, 1)], { scheduler: 'wlc' }));
    const held = [await connectForName(vip), await connectForName(vip)];
    assert.deepEqual(held.map((h) => h.name).sort(), ['rs1', 'rs2']);
    await closeSocket(held[0]!.socket);
    const freed = held[0]!.name;
    const realOfName = (n: string) => engine.stats().services[0]!.reals.find((r) => r.key === (n === 'rs1' ? a : b)!.key)!;
    // The engine's counts follow the connections' states (on the native path one event batch later).
    await waitFor(() => realOfName(freed).activeConns + realOfName(freed).inactiveConns === 0, 'freed real empty');
    await waitFor(() => realOfName(held[1]!.name).activeConns === 1, 'the other real holds one active connection');
    // The one that still holds a connection has overhead 256; the other 0.
    assert.equal(await nameOnce(vip), freed);
    await closeSocket(held[1]!.socket);
  });

  it('counts bytes in and out exactly, and packets as reads', async () => {
    const [a] = await backendsN(1, 'echo');
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!)]));
    const payload = Buffer.alloc(300_000, 7);
    const sock = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1' });
    let got = 0;
    sock.on('data', (d: Buffer) => (got += d.length));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(payload);
    await waitFor(() => got === payload.length, 'echo of all bytes');
    await closeSocket(sock);
    await waitFor(() => engine.connections().length === 0, 'connection finished');
    const st = engine.stats().services[0]!;
    const r = st.reals[0]!;
    assert.equal(r.counters.inBytes, payload.length);
    assert.equal(r.counters.outBytes, payload.length);
    assert.equal(st.counters.inBytes, payload.length);
    assert.equal(st.counters.outBytes, payload.length);
    assert.ok(r.counters.inPackets >= 1 && r.counters.outPackets >= 1);
    assert.equal(r.counters.conns, 1);
  });

  it('keeps the other direction flowing after a half-close (FIN one way)', async () => {
    const b = await startTcpBackend('half', '127.10.2.9', 'hold');
    backends.push(b);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(b)]));
    const sock = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1', allowHalfOpen: true });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.end('request-then-FIN');
    await waitFor(() => b.received[0]?.toString() === 'request-then-FIN' && b.sockets.size === 1, 'backend got data');
    // The backend saw our FIN but has not answered yet: the proxy keeps its direction open.
    const backendSock = [...b.sockets][0]!;
    await waitFor(() => engine.connections().some((c) => c.state === 'FIN_WAIT'), 'FIN_WAIT state');
    assert.equal(engine.stats().services[0]!.reals[0]!.inactiveConns, 1);
    let reply = '';
    sock.on('data', (d: Buffer) => (reply += d.toString()));
    const ended = new Promise<void>((r) => sock.once('end', () => r()));
    backendSock.end('late-reply');
    await ended;
    assert.equal(reply, 'late-reply');
    await waitFor(() => engine.connections().length === 0, 'connection finished');
  });

  it('retries the next real when connect fails, and counts the failure', async () => {
    const [a] = await backendsN(1);
    // A real that refuses: a port we bound and closed.
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.10.2.50', r));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const vip = freshVip();
    const deadReal = { address: '127.10.2.50', port: deadPort, key: `127.10.2.50:${deadPort}` };
    await applyOk(serviceOf(vip, [realOf(deadReal), realOf(a!)]));
    for (let i = 0; i < 4; i++) assert.equal(await nameOnce(vip), 'rs1');
    const st = engine.stats().services[0]!;
    assert.ok(st.errors.connectFailures >= 2, `connectFailures ${st.errors.connectFailures}`);
    assert.equal(st.reals[0]!.activeConns + st.reals[0]!.inactiveConns, 0);
  });

  it('refuses (resets) when no real is available and counts it', async () => {
    const [a] = await backendsN(1);
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!, 0)]));
    await assert.rejects(connectForName(vip));
    await waitFor(() => engine.stats().services[0]!.errors.noRealAvailable === 1, 'noRealAvailable');
    assert.ok(logger.records.some((r) => r.level === 'warn' && r.message.includes('no real server available')));
  });

  it('quiesce (weight 0) keeps an open connection while new ones go elsewhere', async () => {
    const [a, b] = await backendsN(2, 'name');
    const vip = freshVip();
    const svc = serviceOf(vip, [realOf(a!), realOf(b!)]);
    await applyOk(svc);
    const held = await connectForName(vip);
    assert.equal(held.name, 'rs1');
    const r = await engine.apply({ services: [{ ...svc, reals: [realOf(a!, 0), realOf(b!)] }] });
    assert.equal(r.updated, 1);
    for (let i = 0; i < 3; i++) assert.equal(await nameOnce(vip), 'rs2');
    // The quiesced connection still carries data both ways.
    let echoed = '';
    held.socket.on('data', (d: Buffer) => (echoed += d.toString()));
    held.socket.write('still-alive');
    await waitFor(() => echoed === 'still-alive', 'echo on quiesced real');
    assert.equal(engine.stats().services[0]!.reals[0]!.activeConns, 1);
    await closeSocket(held.socket);
  });

  it('removing a real finishes its connections by default; onRealRemoved=reset resets them', async () => {
    const [a, b] = await backendsN(2, 'name');
    const vip = freshVip();
    const svc = serviceOf(vip, [realOf(a!), realOf(b!)]);
    await applyOk(svc);
    const held = await connectForName(vip);
    await applyOk({ ...svc, reals: [realOf(b!)] });
    let echoed = '';
    held.socket.on('data', (d: Buffer) => (echoed += d.toString()));
    held.socket.write('x');
    await waitFor(() => echoed === 'x', 'removed real keeps its connection');
    assert.equal(await nameOnce(vip), 'rs2');
    // Re-add, take a connection, remove with reset.
    await applyOk(svc);
    const held2 = await connectForName(vip, '127.10.3.2');
    const target = held2.name === 'rs1' ? a! : b!;
    const closed = new Promise<void>((r) => held2.socket.once('close', () => r()));
    held2.socket.on('error', () => {});
    await applyOk({ ...svc, onRealRemoved: 'reset', reals: [realOf(target === a ? b! : a!)] });
    await closed;
    await closeSocket(held.socket);
  });

  it('upper/lower thresholds trip and recover (lower defaults to 3/4 of upper)', async () => {
    const [a, b] = await backendsN(2, 'name');
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!, 1, { upperThreshold: 4 }), realOf(b!, 1)], { scheduler: 'fo' }));
    const held: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await connectForName(vip);
      assert.equal(c.name, 'rs1');
      held.push(c.socket);
    }
    const st = () => engine.stats().services[0]!.reals[0]!;
    assert.equal(st().overloaded, true, 'overloaded at totalconns >= upper');
    assert.equal(await nameOnce(vip), 'rs2');
    // 4 -> 3: 3*4 = 12 is not < 4*3 = 12, still overloaded; 3 -> 2: 8 < 12 clears it.
    await closeSocket(held.pop()!);
    await waitFor(() => st().activeConns + st().inactiveConns === 3, 'three left');
    assert.equal(st().overloaded, true);
    await closeSocket(held.pop()!);
    await waitFor(() => st().activeConns + st().inactiveConns === 2, 'two left');
    assert.equal(st().overloaded, false);
    assert.equal(await nameOnce(vip), 'rs1');
    for (const s of held) await closeSocket(s);
  });

  it('persistence sticks a client network to one real and expires after the timeout', async () => {
    const [a, b, c] = await backendsN(3, 'name');
    const vip = freshVip();
    const svc = serviceOf(vip, [realOf(a!), realOf(b!), realOf(c!)], { persistence: { timeoutMs: 60_000, netmaskPrefixLength: 24 } });
    await applyOk(svc);
    const first = await nameOnce(vip, '127.10.3.1');
    // Same /24: same real, even though rr would move on.
    assert.equal(await nameOnce(vip, '127.10.3.7'), first);
    assert.equal(await nameOnce(vip, '127.10.3.1'), first);
    const tmpl = engine.connections().filter((e) => e.template);
    assert.equal(tmpl.length, 1);
    assert.equal(tmpl[0]!.source, '127.10.3.0:0');
    assert.equal(tmpl[0]!.state, 'NONE');
    assert.equal(engine.stats().services[0]!.reals.find((r) => r.persistentConns === 1)?.key, [a!, b!, c!].find((x) => x.name === first)!.key);
    // Another /24 is scheduled independently.
    const other = await nameOnce(vip, '127.10.4.1');
    assert.notEqual(other, first);
    // Quiesce the sticky real: IPVS keeps sending the persistent client there while the template lives.
    const w0 = svc.reals.map((r) => (r.key === [a!, b!, c!].find((x) => x.name === first)!.key ? { ...r, weight: 0 } : r));
    await applyOk({ ...svc, reals: w0 });
    assert.equal(await nameOnce(vip, '127.10.3.9'), first);
    // After the timeout (no live connection controls it) the template expires. The proxy's side
    // of the last connection may still be closing when the client has seen its end: wait for it.
    await waitFor(() => engine.connections().every((e) => e.template), 'connections finished');
    clock.advance(61_000);
    assert.equal(engine.connections().filter((e) => e.template && e.source === '127.10.3.0:0').length, 0);
    assert.notEqual(await nameOnce(vip, '127.10.3.1'), first);
  });

  it('expireQuiescentTemplate drops a template whose real is at weight 0', async () => {
    const [a, b] = await backendsN(2, 'name');
    const vip = freshVip();
    const svc = serviceOf(vip, [realOf(a!), realOf(b!)], { persistence: { timeoutMs: 60_000, netmaskPrefixLength: 32 }, expireQuiescentTemplate: true });
    await applyOk(svc);
    assert.equal(await nameOnce(vip), 'rs1');
    await applyOk({ ...svc, reals: [realOf(a!, 0), realOf(b!)] });
    assert.equal(await nameOnce(vip), 'rs2');
  });

  it('sends PROXY protocol v1 and v2 headers to the real', async () => {
    const b = await startTcpBackend('pp', '127.10.2.20', 'raw');
    backends.push(b);
    for (const version of ['v1', 'v2'] as const) {
      const vip = freshVip();
      await engine.apply({ services: [serviceOf(vip, [realOf(b)], { proxyProtocol: version })] });
      const sock = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.5' });
      await new Promise<void>((r) => sock.once('connect', () => r()));
      const localPort = sock.localPort!;
      const before = b.received.length;
      sock.end('GET / HTTP/1.0\r\n\r\n');
      await waitFor(() => b.received.length > before && (b.received[before]?.toString('latin1').endsWith('\r\n\r\n') ?? false), `${version} data`);
      const got = b.received[before]!;
      if (version === 'v1') {
        assert.equal(got.toString('latin1'), `PROXY TCP4 127.10.3.5 ${vip.address} ${localPort} ${vip.port}\r\nGET / HTTP/1.0\r\n\r\n`);
      } else {
        assert.deepEqual([...got.subarray(0, 12)], [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
        assert.equal(got[12], 0x21);
        assert.equal(got[13], 0x11);
        assert.equal(got.readUInt16BE(14), 12);
        assert.deepEqual([...got.subarray(16, 20)], [127, 10, 3, 5]);
        assert.deepEqual([...got.subarray(20, 24)], vip.address.split('.').map(Number));
        assert.equal(got.readUInt16BE(24), localPort);
        assert.equal(got.readUInt16BE(26), vip.port);
        assert.equal(got.subarray(28).toString('latin1'), 'GET / HTTP/1.0\r\n\r\n');
      }
      await closeSocket(sock);
    }
  });

  it('routes by HTTP path with L7 rules, first match wins', async () => {
    const [img, html, other] = await backendsN(3, 'name');
    const vip = freshVip();
    await applyOk(
      serviceOf(vip, [realOf(img!), realOf(html!), realOf(other!)], {
        l7Rules: [
          { pattern: '^/images/.*', reals: [img!.key] },
          { pattern: '^/html/.*', reals: [html!.key] },
          { pattern: '.*', reals: [other!.key] },
        ],
      }),
    );
    const ask = async (path: string): Promise<string> => {
      const sock = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1' });
      let buf = '';
      sock.on('data', (d: Buffer) => (buf += d.toString()));
      sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await waitFor(() => buf.includes('\n'), `answer for ${path}`);
      await closeSocket(sock);
      return buf.slice(0, buf.indexOf('\n'));
    };
    assert.equal(await ask('/images/a.png'), 'rs1');
    assert.equal(await ask('/html/index.html'), 'rs2');
    assert.equal(await ask('/cgi/x'), 'rs3');
    // The request bytes reached the real intact.
    assert.ok(img!.received.some((r) => r.toString().startsWith('GET /images/a.png HTTP/1.1\r\n')));
  });

  it('close() drains: no new connections, live ones finish, the rest reset at the deadline', async () => {
    const [a] = await backendsN(1, 'name');
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!)]));
    const held = await connectForName(vip);
    const closing = engine.close(5000);
    await assert.rejects(connectForName(vip));
    let echoed = '';
    held.socket.on('data', (d: Buffer) => (echoed += d.toString()));
    held.socket.write('during-drain');
    await waitFor(() => echoed === 'during-drain', 'live connection still works while draining');
    let done = false;
    void closing.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    const reset = new Promise<void>((r) => held.socket.once('close', () => r()));
    held.socket.on('error', () => {});
    clock.advance(5000);
    await closing;
    await reset;
    assert.equal(engine.connections().length, 0);
  });

  it('refuses what a userspace proxy cannot do with a coded error', async () => {
    const vip = freshVip();
    const r = await engine.apply({
      services: [
        serviceOf({ address: vip.address, port: 0 }, []),
        { ...serviceOf(vip, []), key: 'fwm:1', protocol: 'fwm', fwmark: 1, address: undefined },
      ],
    });
    assert.equal(r.failures.length, 2);
    for (const f of r.failures) assert.equal((f.error as { code?: string }).code, 'DIR_ERR_ENGINE_UNSUPPORTED');
  });

  it('reports a listen failure other than EADDRNOTAVAIL as DIR_ERR_ENGINE_LISTEN', async () => {
    const blocker = net.createServer();
    const vip = freshVip();
    await new Promise<void>((r) => blocker.listen(vip.port, vip.address, r));
    try {
      const r = await engine.apply({ services: [serviceOf(vip, [])] });
      assert.equal(r.failures.length, 1);
      assert.equal((r.failures[0]!.error as { code?: string }).code, 'DIR_ERR_ENGINE_LISTEN');
      assert.equal(engine.stats().services[0]!.listening, false);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('serves an IPv6 VIP, persistence masks the client with an IPv6 prefix', async () => {
    const b1 = await startTcpBackend('v6a', '::1');
    const b2 = await startTcpBackend('v6b', '::1');
    backends.push(b1, b2);
    const vip = { address: '::1', port: freshVip().port };
    const key = (b: TcpBackend) => ({ address: '::1', port: b.port, key: `[::1]:${b.port}` });
    await applyOk(
      serviceOf(vip, [realOf(key(b1)), realOf(key(b2))], { key: `tcp:[::1]:${vip.port}`, family: 6, persistence: { timeoutMs: 30_000, netmaskPrefixLength: 64 } }),
    );
    const first = await nameOnce(vip, '::1');
    assert.equal(await nameOnce(vip, '::1'), first);
    const t = engine.connections().find((e) => e.template);
    assert.equal(t?.source, '[::]:0');
    assert.equal(t?.virtual, `[::1]:${vip.port}`);
  });

  it('relays a large transfer to a slow reader byte-exact (backpressure both ways)', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const body = randomBytes(6 * 1024 * 1024);
    const upload = randomBytes(3 * 1024 * 1024);
    let uploadHash = '';
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const h = createHash('sha256');
      s.on('data', (d: Buffer) => h.update(d));
      s.on('end', () => {
        uploadHash = h.digest('hex');
        s.end();
      });
      s.write(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.10.2.30', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const vip = freshVip();
      await applyOk(serviceOf(vip, [realOf({ address: '127.10.2.30', port, key: `127.10.2.30:${port}` })]));
      const sock = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1', allowHalfOpen: true });
      const h = createHash('sha256');
      let got = 0;
      sock.on('data', (d: Buffer) => {
        h.update(d);
        got += d.length;
        // A slow reader: pause after every chunk, resume on a later turn of the event loop.
        sock.pause();
        setImmediate(() => sock.resume());
      });
      const ended = new Promise<void>((r) => sock.once('end', () => r()));
      sock.end(upload);
      await ended;
      assert.equal(got, body.length);
      assert.equal(h.digest('hex'), createHash('sha256').update(body).digest('hex'));
      await waitFor(() => uploadHash !== '', 'upload hashed');
      assert.equal(uploadHash, createHash('sha256').update(upload).digest('hex'));
      await waitFor(() => engine.connections().length === 0, 'connection finished');
      const r = engine.stats().services[0]!.reals[0]!;
      assert.equal(r.counters.outBytes, body.length);
      assert.equal(r.counters.inBytes, upload.length);
    } finally {
      server.close();
    }
  });

  it('relays a large upload to a slow real byte-exact (client->real backpressure on the reused read buffer)', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const upload = randomBytes(8 * 1024 * 1024);
    let received = 0;
    let uploadHash = '';
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const h = createHash('sha256');
      s.on('data', (d: Buffer) => {
        h.update(d);
        received += d.length;
        // A slow real: pause after every chunk so the proxy's writes queue up and it must stop reading the client.
        s.pause();
        setImmediate(() => s.resume());
      });
      s.on('end', () => {
        uploadHash = h.digest('hex');
        s.end('done');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.10.2.31', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const vip = freshVip();
      await applyOk(serviceOf(vip, [realOf({ address: '127.10.2.31', port, key: `127.10.2.31:${port}` })]));
      const sock = net.connect({ host: vip.address, port: vip.port, localAddress: '127.10.3.1', allowHalfOpen: true });
      let reply = '';
      sock.on('data', (d: Buffer) => (reply += d.toString()));
      const ended = new Promise<void>((r) => sock.once('end', () => r()));
      sock.end(upload);
      await ended;
      assert.equal(reply, 'done');
      assert.equal(received, upload.length);
      assert.equal(uploadHash, createHash('sha256').update(upload).digest('hex'));
      await waitFor(() => engine.connections().length === 0, 'connection finished');
      const st = engine.stats().services[0]!;
      assert.equal(st.reals[0]!.counters.inBytes, upload.length);
      assert.equal(st.counters.inBytes, upload.length);
      assert.equal(st.reals[0]!.counters.outBytes, 4);
    } finally {
      server.close();
    }
  });

  it('removing a service stops its listener; its live connections finish', async () => {
    const [a] = await backendsN(1, 'name');
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!)]));
    const held = await connectForName(vip);
    const r = await engine.apply({ services: [] });
    assert.equal(r.removed, 1);
    await assert.rejects(connectForName(vip));
    let echoed = '';
    held.socket.on('data', (d: Buffer) => (echoed += d.toString()));
    held.socket.write('after-removal');
    await waitFor(() => echoed === 'after-removal', 'connection of a removed service still relays');
    assert.equal(engine.connections().length, 1);
    await closeSocket(held.socket);
    await waitFor(() => engine.connections().length === 0, 'finished');
  });

  it('rates follow the 2 s estimator driven by the Clock', async () => {
    const [a] = await backendsN(1, 'name');
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!)]));
    for (let i = 0; i < 8; i++) await nameOnce(vip);
    assert.equal(engine.stats().services[0]!.rates.cps, 0, 'no sample taken yet');
    clock.advance(2000);
    // 8 conns in one 2 s sample: cps = ((8 << 9) >> 2 + 0x1ff) >> 10 = 1
    const rates = engine.stats().services[0]!.rates;
    assert.equal(rates.cps, 1);
    assert.ok(rates.outBps > 0 && rates.outPps > 0);
    assert.deepEqual(engine.stats().services[0]!.reals[0]!.rates, rates);
  });

  it('close() resolves as soon as the last live connection finishes, before the deadline', async () => {
    const [a] = await backendsN(1, 'name');
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!)]));
    const held = await connectForName(vip);
    const closing = engine.close(60_000);
    await closeSocket(held.socket);
    await closing; // no clock advance: it must resolve on the connection's end
    assert.equal(engine.connections().length, 0);
    assert.equal(clock.pendingTimers(), 0, 'the deadline timer and the engine timers are gone');
  });

  it('an idle ESTABLISHED connection is reset after the tcp timeout (ipvsadm --set tcp)', async () => {
    const [a] = await backendsN(1, 'name');
    const vip = freshVip();
    await applyOk(serviceOf(vip, [realOf(a!)], { timeouts: { tcpMs: 30_000, tcpFinMs: 10_000, udpMs: 1000 } }));
    const held = await connectForName(vip);
    held.socket.on('error', () => {});
    const closed = new Promise<void>((r) => held.socket.once('close', () => r()));
    // The relay threads report ESTABLISHED in their next event batch, which may come after the
    // client has read its first bytes: wait for the engine's view, as ipvsadm -lnc would show it.
    await waitFor(() => engine.connections()[0]?.state === 'ESTABLISHED', 'ESTABLISHED in the table');
    const entry = engine.connections()[0]!;
    assert.equal(entry.expiresInMs, 30_000);
    clock.advance(29_000);
    assert.equal(engine.connections().length, 1);
    clock.advance(2_000);
    await closed;
    await waitFor(() => engine.connections().length === 0, 'entry gone');
  });

  it('a real removed and re-added keeps its counters (IPVS trash); wrr keeps its place across unrelated edits', async () => {
    const [a, b] = await backendsN(2, 'name');
    const vip = freshVip();
    const svc = serviceOf(vip, [realOf(a!), realOf(b!)], { scheduler: 'wrr' });
    await applyOk(svc);
    assert.equal(await nameOnce(vip), 'rs1');
    // An edit that does not touch the reals (timeouts) does not reset the wrr cursor.
    await applyOk({ ...svc, timeouts: { ...svc.timeouts, tcpMs: 600_000 } });
    assert.equal(await nameOnce(vip), 'rs2');
    await applyOk({ ...svc, reals: [realOf(b!)] });
    assert.deepEqual(engine.stats().services[0]!.reals.map((r) => r.key), [b!.key]);
    await applyOk(svc);
    const r1 = engine.stats().services[0]!.reals.find((r) => r.key === a!.key)!;
    assert.equal(r1.counters.conns, 1, 'counters survive delete + re-add');
    assert.equal(engine.stats().services[0]!.counters.conns, 2);
  });
});
}
